package handlers

import (
	"testing"
	"time"
)

func TestClientKeyGroupsIPv6By64(t *testing.T) {
	tests := map[string]string{
		"203.0.113.9":                "203.0.113.9",
		"2001:db8:1:2:aaaa::1":       "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::99": "2001:db8:1:2::/64",
		"::ffff:203.0.113.9":         "::ffff:203.0.113.9",
		"not an ip":                  "not an ip",
	}
	for in, want := range tests {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, bad := range []string{"", "10", "x/10m", "0/10m", "10/soon", "10/1ns", "5/-1m"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
	if r, err := ParseRate("10/10m"); err != nil || r.Count != 10 || r.Per != 10*time.Minute {
		t.Fatalf("ParseRate(10/10m) = %+v, %v", r, err)
	}
}
