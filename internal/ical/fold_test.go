package ical

import (
	"bytes"
	"strings"
	"testing"
)

func TestFoldWriter(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short line", "A:b\r\n", "A:b\r\n"},
		{"exactly 75 octets", strings.Repeat("x", 75) + "\r\n", strings.Repeat("x", 75) + "\r\n"},
		{"76 octets", strings.Repeat("x", 76) + "\r\n", strings.Repeat("x", 75) + "\r\n x\r\n"},
		{"continuations hold 74 octets", strings.Repeat("x", 75+74+1) + "\r\n",
			strings.Repeat("x", 75) + "\r\n " + strings.Repeat("x", 74) + "\r\n x\r\n"},
		{"rune across the limit moves whole", strings.Repeat("x", 74) + "é\r\n", strings.Repeat("x", 74) + "\r\n é\r\n"},
		{"emoji across the limit moves whole", strings.Repeat("x", 73) + "🚀y\r\n", strings.Repeat("x", 73) + "\r\n 🚀y\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			fw := &foldWriter{w: &b}
			// Byte by byte, so a line and a rune arrive split across writes.
			for i := range len(tt.in) {
				if _, err := fw.Write([]byte{tt.in[i]}); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := b.String(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFoldWriterRefusesBareLineBreaks(t *testing.T) {
	for _, in := range []string{"A:b\nB:c\r\n", "A:b\rB:c\r\n"} {
		fw := &foldWriter{w: &bytes.Buffer{}}
		if _, err := fw.Write([]byte(in)); err == nil {
			t.Fatalf("Write(%q) succeeded", in)
		}
	}
	fw := &foldWriter{w: &bytes.Buffer{}}
	if _, err := fw.Write([]byte("A:b")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := fw.Close(); err == nil {
		t.Fatal("Close accepted a line without CRLF")
	}
}
