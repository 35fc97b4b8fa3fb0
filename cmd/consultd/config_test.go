package main

import (
	"strings"
	"testing"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDevelopmentDefaults(t *testing.T) {
	cfg, err := loadConfig(envFrom(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8080" || cfg.BaseURL.String() != "http://localhost:8080" || cfg.AppEnv != "development" {
		t.Fatalf("defaults = %q %q %q", cfg.Addr, cfg.BaseURL, cfg.AppEnv)
	}
	if got := strings.Join(cfg.AllowedHosts, ","); got != "localhost:8080,localhost,127.0.0.1,[::1]" {
		t.Fatalf("default ALLOWED_HOSTS = %s", got)
	}
	if cfg.BookingMinNotice.String() != "4h0m0s" || cfg.BookingHorizonDays != 30 || cfg.BookingBuffer != 0 {
		t.Fatalf("booking defaults = %v %d %v", cfg.BookingMinNotice, cfg.BookingHorizonDays, cfg.BookingBuffer)
	}
}

func TestConfigProductionRefusesWeakSettings(t *testing.T) {
	strong := map[string]string{
		"APP_ENV":       "production",
		"DATABASE_URL":  "postgres://x@db/consultd",
		"BASE_URL":      "https://consult.example.com",
		"ALLOWED_HOSTS": "consult.example.com",
		"SECRET_KEY":    strings.Repeat("k", 40),
	}
	if _, err := loadConfig(envFrom(strong)); err != nil {
		t.Fatalf("strong production settings refused: %v", err)
	}
	tests := []struct {
		name, key, value, wantMsg string
	}{
		{"default secret", "SECRET_KEY", "", "SECRET_KEY must be at least 32"},
		{"short secret", "SECRET_KEY", "short-secret", "SECRET_KEY must be at least 32"},
		{"http base url", "BASE_URL", "http://consult.example.com", "BASE_URL must use https"},
		{"no allowed hosts", "ALLOWED_HOSTS", "", "ALLOWED_HOSTS must list"},
		{"no database", "DATABASE_URL", "", "DATABASE_URL is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range strong {
				env[k] = v
			}
			env[tt.key] = tt.value
			_, err := loadConfig(envFrom(env))
			if err == nil {
				t.Fatalf("production with %s=%q started", tt.key, tt.value)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	_, err := loadConfig(envFrom(map[string]string{
		"APP_ENV": "staging", "BASE_URL": "ftp://x", "RATE_LIMITS": "maybe",
		"BOOKING_MIN_NOTICE": "soon", "EMBED_ORIGINS": "partner.example.com", "SMTP_URL": "http://mail",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, key := range []string{"APP_ENV", "DATABASE_URL", "BASE_URL", "RATE_LIMITS", "BOOKING_MIN_NOTICE", "EMBED_ORIGINS", "SMTP_URL"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not mention %s:\n%v", key, err)
		}
	}
}

func TestConfigRefusesValuesThatBreakLater(t *testing.T) {
	tests := map[string]map[string]string{
		"EMBED_ORIGINS":     {"EMBED_ORIGINS": "https://a.example.com;script-src *"},
		"embed origin path": {"EMBED_ORIGINS": "https://a.example.com/?x"},
		"BASE_URL":          {"BASE_URL": "https://consult.example.com/app"},
		"RATE_LIMIT_LEADS":  {"RATE_LIMIT_LEADS": "10/1ns"},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			env["DATABASE_URL"] = "postgres://x@127.0.0.1/db"
			if _, err := loadConfig(envFrom(env)); err == nil {
				t.Fatalf("%v accepted", env)
			}
		})
	}
}
