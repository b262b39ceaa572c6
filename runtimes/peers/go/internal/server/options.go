// Package server is the Go peer's connection handling: an accept loop and a goroutine per connection, blocking
// reads and writes on net.Conn (the runtime's netpoller parks the goroutine), the sessions of package protocol.
package server

import (
	"time"

	"tvt/peers/go/internal/protocol"
)

// Options are the parts of the server's command line that the connection code reads.
type Options struct {
	Workload string
	Limits   protocol.Limits
	// IdleTimeout > 0: a read or write waiting longer than this ends the connection, and a request may take at most
	// this long to arrive whole once its first byte is in (the slowloris rule of runtimes/net/partial_request_deadline.hpp).
	IdleTimeout time.Duration
}

// readBufferBytes is each connection's read buffer: bufio's default size, what a Go server would pick.
const readBufferBytes = 4096
