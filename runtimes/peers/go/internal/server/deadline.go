package server

import (
	"errors"
	"net"
	"os"
	"time"
)

// deadline applies the idle timeout to one connection: each read may wait at most the timeout, and a half-received
// request must be complete within the timeout of its first byte. With no timeout it sets nothing (no timer per read).
type deadline struct {
	timeout      time.Duration
	partialSince time.Time // zero while no request is half-received
}

func (d *deadline) beforeRead(c net.Conn, hasPartial bool) {
	if d.timeout <= 0 {
		return
	}
	now := time.Now()
	if !hasPartial {
		d.partialSince = time.Time{}
		c.SetReadDeadline(now.Add(d.timeout))
		return
	}
	if d.partialSince.IsZero() {
		d.partialSince = now
	}
	c.SetReadDeadline(d.partialSince.Add(d.timeout))
}

func (d *deadline) beforeWrite(c net.Conn) {
	if d.timeout > 0 {
		c.SetWriteDeadline(time.Now().Add(d.timeout))
	}
}

// expired reports whether err is the deadline of a half-received request (logged as such by the caller).
func (d *deadline) expiredMidRequest(err error) bool {
	return !d.partialSince.IsZero() && errors.Is(err, os.ErrDeadlineExceeded)
}
