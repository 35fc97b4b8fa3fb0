package services

import (
	"strings"
	"unicode"
)

// cleanLine makes one line of user text safe to store and to put in a
// header or a calendar line: invalid UTF-8 is replaced, and control
// characters (NUL, CR, LF, tabs) become spaces.
func cleanLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD")))
}

// cleanText is cleanLine for text that may hold line breaks: they are kept
// as LF, other control characters are dropped.
func cleanText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\r\n", "\n")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\n' || !unicode.IsControl(r) {
			return r
		}
		if r == '\t' || r == '\r' {
			return ' '
		}
		return -1
	}, s))
}
