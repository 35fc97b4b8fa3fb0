// Package icaltest holds what the invite and feed tests share: decoding a
// single event and running the outside parsers (libical, ical.js) on a
// calendar.
package icaltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"testing"

	goical "github.com/emersion/go-ical"
)

// DecodeOne decodes a calendar that must hold exactly one VEVENT.
func DecodeOne(t testing.TB, b []byte) (*goical.Calendar, goical.Event) {
	t.Helper()
	cal, err := goical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("got %d VEVENTs, want 1", len(events))
	}
	return cal, events[0]
}

// PropText is a property's text value, failing the test when it has none.
func PropText(t testing.TB, props goical.Props, name string) string {
	t.Helper()
	s, err := props.Text(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// RunChecker runs an outside checker on an .ics and decodes the JSON
// summary it prints. A missing program fails the test: the suite must not
// quietly pass without the parsers it promises to run.
func RunChecker(t testing.TB, into any, program string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(program); err != nil {
		t.Fatalf("%s not found (%v): run `make test`, which installs the test programs (scripts/test-deps.sh)", program, err)
	}
	cmd := exec.Command(program, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		t.Fatalf("%s %s: a parser is missing: run `make test` (scripts/test-deps.sh installs it)\n%s", program, args[0], stderr.String())
	}
	if err != nil {
		t.Fatalf("%s %s rejected the calendar: %v\n%s", program, args[0], err, stderr.String())
	}
	if err := json.Unmarshal(out, into); err != nil {
		t.Fatalf("%s output %q: %v", program, out, err)
	}
}
