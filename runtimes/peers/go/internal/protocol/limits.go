// Package protocol is the Go port of runtimes/protocol: the four workloads, sans-I/O, with the same logic and the
// same bytes on the wire as the C++ sessions (docs/CONTRACTS.md, runtimes/protocol/README.md).
package protocol

// Limits mirrors protocol::Limits; the server's options set them, the tests shrink them.
type Limits struct {
	MaxLineBytes    int // echo/chat/compute: a longer line closes the connection
	MaxHeaderBytes  int // http: request line + header fields, else 431
	MaxHeaderFields int // http: else 431
	HTTPBodyBytes   int // http: size of the fixed 200 body
	ChatOutboxBytes int // chat: bytes queued per connection before messages are dropped
}

// DefaultLimits are the C++ defaults (runtimes/protocol/limits.hpp).
func DefaultLimits() Limits {
	return Limits{
		MaxLineBytes:    64 * 1024,
		MaxHeaderBytes:  8 * 1024,
		MaxHeaderFields: 100,
		HTTPBodyBytes:   13,
		ChatOutboxBytes: 256 * 1024,
	}
}

// Verdict is what a session says after consuming bytes.
type Verdict int

const (
	// KeepOpen: read more.
	KeepOpen Verdict = iota
	// Close: send what was appended, then close the connection.
	Close
)
