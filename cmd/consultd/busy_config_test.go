package main

import (
	"strings"
	"testing"
	"time"
)

func TestConfigBusyFetch(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db"}
	production := map[string]string{
		"APP_ENV": "production", "DATABASE_URL": "postgres://x@db/consultd", "BASE_URL": "https://consult.example.com",
		"ALLOWED_HOSTS": "consult.example.com", "SECRET_KEY": strings.Repeat("k", 40),
	}
	with := func(env map[string]string, extra ...string) map[string]string {
		out := map[string]string{}
		for k, v := range env {
			out[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			out[extra[i]] = extra[i+1]
		}
		return out
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want busyFetchConfig
	}{
		"development defaults": {base, busyFetchConfig{Interval: 10 * time.Minute, Timeout: 15 * time.Second, MaxBytes: 5 << 20, AllowPrivate: true}},
		"production defaults":  {production, busyFetchConfig{Interval: 10 * time.Minute, Timeout: 15 * time.Second, MaxBytes: 5 << 20}},
		"development denied":   {with(base, "BUSY_FETCH_PRIVATE", "deny"), busyFetchConfig{Interval: 10 * time.Minute, Timeout: 15 * time.Second, MaxBytes: 5 << 20}},
		"set": {with(base, "BUSY_FETCH_INTERVAL", "30m", "BUSY_FETCH_TIMEOUT", "5s", "BUSY_FETCH_MAX_BYTES", "1048576"),
			busyFetchConfig{Interval: 30 * time.Minute, Timeout: 5 * time.Second, MaxBytes: 1 << 20, AllowPrivate: true}},
	} {
		cfg, err := loadConfig(envFrom(tc.env))
		if err != nil || cfg.BusyFetch != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", name, cfg.BusyFetch, err, tc.want)
		}
	}
	_, err := loadConfig(envFrom(with(base, "BUSY_FETCH_INTERVAL", "10s", "BUSY_FETCH_TIMEOUT", "1h", "BUSY_FETCH_MAX_BYTES", "10", "BUSY_FETCH_PRIVATE", "sometimes")))
	for _, key := range []string{"BUSY_FETCH_INTERVAL", "BUSY_FETCH_TIMEOUT", "BUSY_FETCH_MAX_BYTES", "BUSY_FETCH_PRIVATE"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error does not mention %s: %v", key, err)
		}
	}
}
