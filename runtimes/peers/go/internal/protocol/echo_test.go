package protocol

import "testing"

func TestEchoSession(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxLineBytes = 4
	tests := []struct {
		name, in, want string
		verdict        Verdict
	}{
		{"lines", "ab\ncd\n", "ab\ncd\n", KeepOpen},
		{"binary", "\x00\xff\r\n", "\x00\xff\r\n", KeepOpen},
		{"partial kept", "ab\ncd", "ab\n", KeepOpen},
		{"at the limit", "abcd\n", "abcd\n", KeepOpen},
		{"over the limit", "ab\nabcde\n", "ab\n", Close},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectSplitInvariant(t, func() Session { return NewEchoSession(limits) }, tt.in, tt.want, tt.verdict)
		})
	}
}
