package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// CopyDatabase creates database name as a copy of template (schema and
// data), for tests and load harnesses that replay one prepared state more
// than once. Nothing may be connected to template while it runs.
func CopyDatabase(ctx context.Context, adminDSN, name, template string) error {
	if !validIdent(name) || !validIdent(template) {
		return fmt.Errorf("store: invalid database name %q or %q", name, template)
	}
	conn, err := pgconn.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template).ReadAll()
	return err
}
