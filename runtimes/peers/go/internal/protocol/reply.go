package protocol

// Reply collects what a session answers to one read. Bytes a session builds (an echoed line, a digest) are copied
// into the reply's own buffer; the prebuilt HTTP replies are shared by reference, so a pipelined burst of large
// replies costs a list of slices, not a copy per request (a 1 MiB body times 8 pipelined requests would otherwise be
// 8 MiB of garbage per read, which the Go heap keeps resident long after the connection is gone).
type Reply struct {
	parts   [][]byte // complete parts in order, written with one writev
	owned   []byte   // the reply's own bytes; parts may point into it
	pending int      // owned[pending:] is not yet in parts
}

// Append copies b to the end of the reply.
func (r *Reply) Append(b []byte) { r.owned = append(r.owned, b...) }

// AppendString copies s to the end of the reply.
func (r *Reply) AppendString(s string) { r.owned = append(r.owned, s...) }

// Share appends b by reference; b must not change afterwards.
func (r *Reply) Share(b []byte) {
	r.flushOwned()
	r.parts = append(r.parts, b)
}

// Parts returns the reply as slices to write in order (valid until Reset).
func (r *Reply) Parts() [][]byte {
	r.flushOwned()
	return r.parts
}

// Len is the number of bytes in the reply.
func (r *Reply) Len() int {
	n := len(r.owned) - r.pending
	for _, p := range r.parts {
		n += len(p)
	}
	return n
}

// Bytes returns the whole reply as one slice (a copy when it has several parts; for tests and small replies).
func (r *Reply) Bytes() []byte {
	parts := r.Parts()
	if len(parts) == 1 {
		return parts[0]
	}
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// Reset empties the reply for the next read, dropping a buffer that grew large so an idle connection does not pin it.
func (r *Reply) Reset() {
	const keepBytes = 16 * 1024
	for i := range r.parts {
		r.parts[i] = nil
	}
	r.parts = r.parts[:0]
	if cap(r.owned) > keepBytes || cap(r.parts) > 64 {
		*r = Reply{}
		return
	}
	r.owned, r.pending = r.owned[:0], 0
}

func (r *Reply) flushOwned() {
	if len(r.owned) > r.pending {
		// The three-index slice keeps a later Append from writing into a part already handed out.
		r.parts = append(r.parts, r.owned[r.pending:len(r.owned):len(r.owned)])
		r.pending = len(r.owned)
	}
}
