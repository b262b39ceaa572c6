package protocol

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorsPath is the file generated from the C++ compute_digest, shared by every language's tests.
var vectorsPath = filepath.Join("..", "..", "..", "..", "protocol", "testdata", "compute_vectors.txt")

func TestComputeDigestMatchesSharedVectors(t *testing.T) {
	f, err := os.Open(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checked := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var kib uint32
		var want string
		if _, err := fmt.Sscanf(line, "%d %s", &kib, &want); err != nil {
			t.Fatalf("malformed vector line %q: %v", line, err)
		}
		if got := string(AppendDigest(nil, ComputeDigest(kib))); got != want+"\n" {
			t.Errorf("ComputeDigest(%d) = %q, want %q", kib, got, want)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d vectors in %s", checked, vectorsPath)
	}
}

func TestParseComputeLine(t *testing.T) {
	tests := []struct {
		line   string
		kib    uint32
		reason string
	}{
		{"0", 0, ""},
		{"65536", 65536, ""},
		{"007", 7, ""},
		{"", 0, "empty request"},
		{"65537", 0, "kib out of range"},
		{"12345678901", 0, "kib out of range"},
		{"-1", 0, "kib must be decimal digits"},
		{" 1", 0, "kib must be decimal digits"},
		{"1x", 0, "kib must be decimal digits"},
	}
	for _, tt := range tests {
		kib, reason := ParseComputeLine([]byte(tt.line))
		if kib != tt.kib || reason != tt.reason {
			t.Errorf("ParseComputeLine(%q) = %d, %q; want %d, %q", tt.line, kib, reason, tt.kib, tt.reason)
		}
	}
}

func TestComputeSession(t *testing.T) {
	hex := func(kib uint32) string { return string(AppendDigest(nil, ComputeDigest(kib))) }
	limits := DefaultLimits()
	limits.MaxLineBytes = 8
	tests := []struct {
		name, in, want string
		verdict        Verdict
	}{
		{"pipelined", "1\n0\n2\n", hex(1) + hex(0) + hex(2), KeepOpen},
		{"errors keep the connection", "x\n12345678\n1\n", "ERR kib must be decimal digits\nERR kib out of range\n" + hex(1), KeepOpen},
		{"long line closes", "1\n123456789\n", hex(1), Close},
		{"partial line waits", "1\n12", hex(1), KeepOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectSplitInvariant(t, func() Session { return NewComputeSession(limits) }, tt.in, tt.want, tt.verdict)
		})
	}
}
