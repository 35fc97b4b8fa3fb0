package handlers

import "testing"

func TestETagMatches(t *testing.T) {
	const etag = `"abc"`
	for header, want := range map[string]bool{
		`"abc"`:           true,
		`W/"abc"`:         true,
		`"x", "abc"`:      true,
		` "x" ,W/"abc" `:  true,
		`*`:               true,
		`"abcd"`:          false,
		`"ab"`:            false,
		``:                false,
		`abc`:             false,
		`"abc-gzip"`:      false,
		`W/"x", W/"abcx"`: false,
	} {
		if got := etagMatches(header, etag); got != want {
			t.Errorf("etagMatches(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"gzip":                     true,
		"gzip, deflate, br":        true,
		"br;q=1.0, GZIP;q=0.5":     true,
		"*":                        true,
		"gzip;q=0":                 false,
		"gzip; q=0.0, *":           false,
		"*;q=0.5, gzip;q=0":        false,
		"identity":                 false,
		"":                         false,
		"deflate, *;q=0":           false,
		"x-gzip-ish, identity;q=1": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
