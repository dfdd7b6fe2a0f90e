package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
)

// newInternalTestDB creates a throwaway database for tests inside this
// package (storetest imports store, so it cannot be used here).
func newInternalTestDB(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = os.Getenv("DATABASE_URL")
	}
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	if d, err := WithDatabase(admin, "postgres"); err == nil {
		admin = d
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ct_test_" + hex.EncodeToString(b[:])
	if err := CreateDatabase(context.Background(), admin, name); err != nil {
		t.Fatalf("PostgreSQL is required for this test: %v", err)
	}
	t.Cleanup(func() { _ = DropDatabase(context.Background(), admin, name) })
	dsn, err := WithDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}
