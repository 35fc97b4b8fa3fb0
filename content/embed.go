// Package content holds the article and the assessment definition, embedded.
package content

import "embed"

// FS is the article Markdown, its metadata and the assessment definition.
//
//go:embed article.md article.json assessment.json
var FS embed.FS
