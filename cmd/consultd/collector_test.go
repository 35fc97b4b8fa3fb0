package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"
)

// Without GOGC and GOMEMLIMIT the server collects at four times the live
// heap under a 40 MiB soft limit; either variable, when set, is left to the
// runtime.
func TestCollectorDefaultsGiveWayToTheEnvironment(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	prevPercent, prevLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	softMemoryLimit(logger)
	if p := debug.SetGCPercent(100); p != defaultGCPercent {
		t.Errorf("GC percent = %d, want %d", p, defaultGCPercent)
	}
	if l := debug.SetMemoryLimit(1 << 40); l != defaultMemoryLimit {
		t.Errorf("memory limit = %d, want %d", l, defaultMemoryLimit)
	}

	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	softMemoryLimit(logger)
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("with GOGC set, the server changed the GC percent to %d", p)
	}
	if l := debug.SetMemoryLimit(-1); l != 1<<40 {
		t.Errorf("with GOMEMLIMIT set, the server changed the limit to %d", l)
	}
}
