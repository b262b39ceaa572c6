package main

import (
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"server's spelling", []string{"--backend", "go", "--workload", "chat", "--port", "0", "--host", "::1"}, false},
		{"every limit", []string{"--backend=go-mt", "--threads", "2", "--idle-timeout-ms", "1500", "--body-size", "1048576",
			"--max-line", "1024", "--chat-outbox-bytes", "4096", "--max-header-bytes", "100", "--max-header-fields", "3"}, false},
		{"short names", []string{"-b", "go", "-w", "echo", "-p", "8080"}, false},
		{"stack size 0 is the default", []string{"--backend", "go", "--stack-size", "0"}, false},
		{"another back end", []string{"--backend", "threads"}, true},
		{"no back end", []string{"--workload", "http"}, true},
		{"unknown workload", []string{"--backend", "go", "--workload", "ftp"}, true},
		{"stack size is ignored", []string{"--backend", "go", "--stack-size", "65536"}, false},
		{"offload is ignored", []string{"--backend", "go", "--offload"}, false},
		{"outbox too small", []string{"--backend", "go", "--chat-outbox-bytes", "255"}, true},
		{"negative timeout", []string{"--backend", "go", "--idle-timeout-ms", "-1"}, true},
		{"unknown option", []string{"--backend", "go", "--frobnicate"}, true},
		{"stray argument", []string{"--backend", "go", "extra"}, true},
		{"a shard's socket", []string{"--backend", "go", "--shards", "4", "--listen-fd", "3"}, false},
		{"shards without a socket", []string{"--backend", "go", "--shards", "4"}, true},
		{"zero shards", []string{"--backend", "go", "--shards", "0", "--listen-fd", "3"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFlags(%q) error = %v, want error: %v", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestParseFlagsValues(t *testing.T) {
	cfg, err := parseFlags([]string{"--backend", "go-mt", "--idle-timeout-ms", "1500", "--max-line", "1024", "--threads", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.options.IdleTimeout != 1500*time.Millisecond || cfg.options.Limits.MaxLineBytes != 1024 || cfg.threads != 3 ||
		cfg.options.Workload != "http" || cfg.host != "127.0.0.1" {
		t.Fatalf("got %+v", cfg)
	}
}
