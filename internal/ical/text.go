package ical

import "strings"

// text turns every CR, LF and CRLF into LF, which go-ical writes as the
// escaped "\n", and drops other control characters, which TEXT forbids.
func text(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// paramText makes a name safe as a parameter value: a parameter has no
// escape for line breaks or double quotes, so they become spaces and
// apostrophes.
func paramText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
