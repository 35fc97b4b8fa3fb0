package ical

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"
)

// foldLimit is the longest physical line RFC 5545 §3.1 allows, in octets
// and without the CRLF.
const foldLimit = 75

// lineEnd ends every content line (RFC 5545 §3.1).
const lineEnd = "\r\n"

// encode writes cal with go-ical, folded at 75 octets.
func encode(cal *goical.Calendar) ([]byte, error) {
	var buf bytes.Buffer
	fw := &foldWriter{w: &buf}
	if err := goical.NewEncoder(fw).Encode(cal); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// foldWriter folds content lines at 75 octets (RFC 5545 §3.1), since go-ical
// writes each line whole. It holds bytes until a CRLF ends a line, so a fold
// never splits a UTF-8 sequence, and refuses a bare CR or LF, which would
// start a new property.
type foldWriter struct {
	w    io.Writer
	line []byte
}

func (f *foldWriter) Write(p []byte) (int, error) {
	f.line = append(f.line, p...)
	for {
		i := bytes.Index(f.line, []byte(lineEnd))
		if i < 0 {
			return len(p), nil
		}
		if err := f.writeLine(f.line[:i]); err != nil {
			return 0, err
		}
		f.line = append(f.line[:0], f.line[i+2:]...)
	}
}

func (f *foldWriter) writeLine(line []byte) error {
	if bytes.ContainsAny(line, "\r\n") {
		return errors.New("content line holds a bare CR or LF")
	}
	out := make([]byte, 0, len(line)+len(line)/foldLimit*3+2)
	limit := foldLimit
	for len(line) > limit {
		cut := limit
		for !utf8.RuneStart(line[cut]) {
			cut--
		}
		out = append(out, line[:cut]...)
		out = append(out, "\r\n "...)
		line = line[cut:]
		limit = foldLimit - 1 // the leading space counts
	}
	out = append(out, line...)
	out = append(out, lineEnd...)
	_, err := f.w.Write(out)
	return err
}

// Close reports a last line left without its CRLF.
func (f *foldWriter) Close() error {
	if len(f.line) > 0 {
		return errors.New("content line not ended by CRLF")
	}
	return nil
}
