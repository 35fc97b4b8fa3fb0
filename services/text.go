package services

import (
	"strings"
	"unicode"
)

// cleanLine makes one line of user text safe to store and to put in a
// header or a calendar line: invalid UTF-8 is replaced, control
// characters (NUL, CR, LF, tabs) become spaces, and format characters
// (bidi controls, zero-width spaces, byte-order marks, soft hyphens) are
// dropped. They show as nothing, so they can pass a blank name for a real
// one or make the text around them read backwards in mail. ZWNJ and ZWJ
// stay between visible characters, where Persian words and emoji
// sequences need them.
func cleanLine(s string) string {
	rs := []rune(strings.ToValidUTF8(s, "\uFFFD"))
	var b strings.Builder
	for i, r := range rs {
		switch {
		case unicode.IsControl(r):
			b.WriteRune(' ')
		case unicode.Is(unicode.Cf, r):
			if (r == zwnj || r == zwj) && i > 0 && i < len(rs)-1 && drawn(rs[i-1]) && drawn(rs[i+1]) {
				b.WriteRune(r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

const (
	zwnj = '\u200C' // zero-width non-joiner
	zwj  = '\u200D' // zero-width joiner
)

// drawn reports whether r puts ink on the page, marks and emoji modifiers
// included, so a joiner beside it joins something.
func drawn(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}

// visibleText reports whether s holds a letter, digit, punctuation or
// symbol; a combining mark alone has nothing to sit on.
func visibleText(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) })
}

// cleanText is cleanLine for text that may hold line breaks: they are kept
// as LF, other control characters are dropped, and so are the invisible
// characters that reorder or hide text (bidi embeddings, overrides and
// isolates, the byte-order mark, the zero-width space). Other format
// characters, such as ZWNJ, ZWJ and the directional marks, shape real
// writing in longer text and stay.
func cleanText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\r\n", "\n")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r), hiddenInText(r):
			return -1
		}
		return r
	}, s))
}

func hiddenInText(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\uFEFF' || r == '\u200B'
}
