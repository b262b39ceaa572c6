package protocol

import "bytes"

// LineStatus is what LineSplitter.Next found.
type LineStatus int

const (
	// Line: a whole line, without its '\n'.
	Line LineStatus = iota
	// NeedMore: the input is used up; its unfinished tail is kept.
	NeedMore
	// TooLong: the line exceeds the limit; the caller closes the connection.
	TooLong
)

// LineSplitter splits a byte stream into '\n'-terminated lines. A line that arrives whole inside one read is handed
// out as a slice of that read, with no copy; only a line split across reads is assembled in partial.
type LineSplitter struct {
	MaxLineBytes int
	partial      []byte
	assembled    bool // the last line handed out is partial itself
}

// Next takes bytes from the front of *in up to and including the next '\n'. The line stays valid until the next
// call or until the storage behind *in changes.
func (s *LineSplitter) Next(in *[]byte) ([]byte, LineStatus) {
	if s.assembled { // the previous line lived in partial: drop its storage now that it has been used
		s.partial = nil
		s.assembled = false
	}
	nl := bytes.IndexByte(*in, '\n')
	if nl < 0 {
		if len(s.partial)+len(*in) > s.MaxLineBytes {
			return nil, TooLong
		}
		s.partial = append(s.partial, *in...)
		*in = (*in)[len(*in):]
		return nil, NeedMore
	}
	if len(s.partial)+nl > s.MaxLineBytes {
		return nil, TooLong
	}
	var line []byte
	if len(s.partial) == 0 {
		line = (*in)[:nl]
	} else {
		s.partial = append(s.partial, (*in)[:nl]...)
		line = s.partial
		s.assembled = true
	}
	*in = (*in)[nl+1:]
	return line, Line
}

// HasPartial is true while a line is half-received.
func (s *LineSplitter) HasPartial() bool { return !s.assembled && len(s.partial) > 0 }
