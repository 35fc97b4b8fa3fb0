// Package templates holds the html/template files, embedded in the binary.
package templates

import "embed"

// FS is the layout, the partials and one file per page.
//
//go:embed layout.html partials/*.html pages/*.html
var FS embed.FS

// MailFS holds the email bodies: text and HTML per message kind.
//
//go:embed mail
var MailFS embed.FS
