// Package migrations holds the numbered, forward-only SQL migrations, embedded
// so the binary carries its own schema.
package migrations

import "embed"

// FS is every migration file.
//
//go:embed *.sql
var FS embed.FS
