// Package migrations holds the numbered SQL schema migrations, embedded in the
// binary. Files are named NNNN_verb_object.sql and carry goose Up/Down
// sections; each file is applied in its own transaction.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
