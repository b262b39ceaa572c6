package server

import (
	"net"

	"tvt/peers/go/internal/protocol"
)

// serveSession runs one request-reply connection (echo, http, compute): read, let the session answer, write the
// answer, repeat. Writing before reading again is the backpressure: a client that does not read stops being read.
func serveSession(c net.Conn, s protocol.Session, timeout deadline) {
	buf := make([]byte, readBufferBytes)
	var out protocol.Reply
	for {
		timeout.beforeRead(c, s.HasPartial())
		n, err := c.Read(buf)
		if n > 0 {
			verdict := s.Consume(buf[:n], &out)
			if werr := write(c, &out, &timeout); werr != nil {
				return
			}
			if verdict == protocol.Close {
				if reason := s.CloseReason(); reason != "" {
					connLog.printf("closing a connection: %s", reason)
				}
				return
			}
		}
		if err != nil {
			if timeout.expiredMidRequest(err) {
				connLog.printf("closing a connection: request not received whole within %v", timeout.timeout)
			}
			return
		}
	}
}

// write sends the reply (one write, or one writev when it has several parts) and resets it.
func write(c net.Conn, out *protocol.Reply, timeout *deadline) error {
	defer out.Reset()
	parts := out.Parts()
	switch len(parts) {
	case 0:
		return nil
	case 1:
		timeout.beforeWrite(c)
		_, err := c.Write(parts[0])
		return err
	}
	timeout.beforeWrite(c)
	bufs := net.Buffers(parts)
	_, err := bufs.WriteTo(c)
	return err
}
