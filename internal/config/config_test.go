package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsNeedNoConfiguration(t *testing.T) {
	c, rest, err := Load("serve", nil, env(nil))
	if err != nil || len(rest) != 0 {
		t.Fatal(err, rest)
	}
	if c.Addr != ":8080" || c.DatabaseURL != "troth.db" || c.LogLevel != slog.LevelInfo || c.AccessTokenTTL != 15*time.Minute || !c.Migrate {
		t.Fatalf("defaults: %+v", c)
	}
	if c.IsPostgres() {
		t.Fatal("default database is not PostgreSQL")
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, _, err := Load("serve", []string{"-addr", ":9090", "-log-level", "debug"}, env(map[string]string{
		"TROTH_ADDR": ":7070", "TROTH_DATABASE_URL": "postgres://u@h/db", "TROTH_ACCESS_TOKEN_TTL": "5m",
		"TROTH_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1/32", "TROTH_MIGRATE": "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9090" || c.LogLevel != slog.LevelDebug || !c.IsPostgres() || c.AccessTokenTTL != 5*time.Minute ||
		len(c.TrustedProxies) != 2 || c.Migrate {
		t.Fatalf("got %+v", c)
	}
}

// Bad configuration is one clear line naming the variable or flag.
func TestBadConfiguration(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad level", nil, map[string]string{"TROTH_LOG_LEVEL": "loud"}, "TROTH_LOG_LEVEL"},
		{"bad duration", nil, map[string]string{"TROTH_ACCESS_TOKEN_TTL": "soon"}, "TROTH_ACCESS_TOKEN_TTL"},
		{"ttl out of range", nil, map[string]string{"TROTH_ACCESS_TOKEN_TTL": "48h"}, "TROTH_ACCESS_TOKEN_TTL"},
		{"bad cidr", nil, map[string]string{"TROTH_TRUSTED_PROXIES": "10.0.0.0/99"}, "TROTH_TRUSTED_PROXIES"},
		{"bad number", nil, map[string]string{"TROTH_AUTH_RATE_PER_MINUTE": "0"}, "TROTH_AUTH_RATE_PER_MINUTE"},
		{"bad bool", nil, map[string]string{"TROTH_MIGRATE": "maybe"}, "TROTH_MIGRATE"},
		{"unknown flag", []string{"-colour"}, nil, "colour"},
		{"bad flag value", []string{"-access-token-ttl", "x"}, nil, "access-token-ttl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load("serve", tc.args, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line naming %s", err, tc.want)
			}
		})
	}
}
