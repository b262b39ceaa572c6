package protocol

import "bytes"

// EchoSession sends every '\n'-terminated line back unchanged; a line over the limit closes the connection.
type EchoSession struct {
	maxLineBytes int
	partial      []byte
	closeReason  string
}

// NewEchoSession returns a session with the given line limit.
func NewEchoSession(limits Limits) *EchoSession {
	return &EchoSession{maxLineBytes: limits.MaxLineBytes}
}

// Consume implements Session.
func (s *EchoSession) Consume(in []byte, out *Reply) Verdict {
	for len(in) > 0 {
		nl := bytes.IndexByte(in, '\n')
		if nl < 0 {
			if len(s.partial)+len(in) > s.maxLineBytes {
				s.closeReason = "echo line over the limit"
				return Close
			}
			s.partial = append(s.partial, in...)
			return KeepOpen
		}
		if len(s.partial)+nl > s.maxLineBytes {
			s.closeReason = "echo line over the limit"
			return Close
		}
		if len(s.partial) > 0 {
			out.Append(s.partial)
			s.partial = nil
		}
		out.Append(in[:nl+1])
		in = in[nl+1:]
	}
	return KeepOpen
}

// CloseReason implements Session.
func (s *EchoSession) CloseReason() string { return s.closeReason }

// HasPartial implements Session.
func (s *EchoSession) HasPartial() bool { return len(s.partial) > 0 }
