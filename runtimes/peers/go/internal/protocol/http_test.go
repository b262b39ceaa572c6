package protocol

import (
	"strings"
	"testing"
)

func TestHTTPSession(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxHeaderBytes = 64
	limits.MaxHeaderFields = 3
	r := NewHTTPReplies(limits)
	ok := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
	okClose := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!"
	okKeepAlive := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!"
	errReply := func(status string) string {
		return "HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	}
	tests := []struct {
		name, in, want string
		verdict        Verdict
	}{
		{"get", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ok, KeepOpen},
		{"pipelined, LF only", "GET / HTTP/1.1\n\nHEAD / HTTP/1.1\n\n", ok + head, KeepOpen},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", ok, KeepOpen},
		{"connection close", "GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\nGET / HTTP/1.1\r\n\r\n", okClose, Close},
		{"http/1.0 closes", "GET / HTTP/1.0\r\n\r\n", okClose, Close},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", okKeepAlive, KeepOpen},
		{"body skipped", "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n", ok + ok, KeepOpen},
		{"partial", "GET / HTTP/1.1\r\nHost:", "", KeepOpen},
		{"garbage", "BLAH\r\n\r\n", errReply("400 Bad Request"), Close},
		{"bad version", "GET / HTTP/x.1\r\n\r\n", errReply("400 Bad Request"), Close},
		{"http/2", "GET / HTTP/2.0\r\n\r\n", errReply("505 HTTP Version Not Supported"), Close},
		{"bad field", "GET / HTTP/1.1\r\nno colon\r\n\r\n", errReply("400 Bad Request"), Close},
		{"conflicting lengths", "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", errReply("400 Bad Request"), Close},
		{"post", "POST / HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n", Close},
		{"chunked", "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", errReply("501 Not Implemented"), Close},
		{"huge body", "GET / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", errReply("413 Content Too Large"), Close},
		{"too many fields", "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n", errReply("431 Request Header Fields Too Large"), Close},
		{"section too large", "GET / HTTP/1.1\r\nx: " + strings.Repeat("a", 80), errReply("431 Request Header Fields Too Large"), Close},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectSplitInvariant(t, func() Session { return NewHTTPSession(r) }, tt.in, tt.want, tt.verdict)
		})
	}
}

func TestHTTPBodySize(t *testing.T) {
	limits := DefaultLimits()
	limits.HTTPBodyBytes = 30
	var out Reply
	NewHTTPSession(NewHTTPReplies(limits)).Consume([]byte("GET / HTTP/1.1\r\n\r\n"), &out)
	if !strings.HasSuffix(string(out.Bytes()), "Content-Length: 30\r\n\r\nHello, World!Hello, World!Hell") {
		t.Fatalf("got %q", out)
	}
}
