// Package static holds the stylesheets, scripts and images, embedded in the binary.
package static

import "embed"

// FS is every static asset.
//
//go:embed css js img
var FS embed.FS
