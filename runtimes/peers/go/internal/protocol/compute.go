package protocol

// MaxComputeKiB is the largest request the compute workload accepts.
const MaxComputeKiB = 65536

const (
	fnvOffsetBasis uint64 = 0xcbf29ce484222325
	fnvPrime       uint64 = 0x100000001b3
)

// pattern is the fixed KiB the digest runs over: byte i is (i*167 + 13) & 0xff.
var pattern = func() (p [1024]byte) {
	for i := range p {
		p[i] = byte((i*167 + 13) & 0xff)
	}
	return p
}()

// ComputeDigest is FNV-1a 64 over kib KiB of the fixed pattern: a serial multiply chain, bit-identical to the C++
// compute_digest (checked against runtimes/protocol/testdata/compute_vectors.txt).
func ComputeDigest(kib uint32) uint64 {
	h := fnvOffsetBasis
	for k := uint32(0); k < kib; k++ {
		for _, b := range pattern {
			h ^= uint64(b)
			h *= fnvPrime
		}
	}
	return h
}

// ParseComputeLine accepts only decimal digits, value 0..MaxComputeKiB. On failure reason is the ERR text.
func ParseComputeLine(line []byte) (kib uint32, reason string) {
	if len(line) == 0 {
		return 0, "empty request"
	}
	if len(line) > 10 {
		return 0, "kib out of range"
	}
	var v uint64
	for _, c := range line {
		if c < '0' || c > '9' {
			return 0, "kib must be decimal digits"
		}
		v = v*10 + uint64(c-'0')
	}
	if v > MaxComputeKiB {
		return 0, "kib out of range"
	}
	return uint32(v), ""
}

// AppendDigest appends 16 lowercase hex digits and '\n'.
func AppendDigest(out []byte, digest uint64) []byte {
	const hex = "0123456789abcdef"
	var text [17]byte
	for i := 15; i >= 0; i-- {
		text[i] = hex[digest&0xf]
		digest >>= 4
	}
	text[16] = '\n'
	return append(out, text[:]...)
}

// ComputeSession answers each line inline, like the C++ ComputeSession.
type ComputeSession struct {
	lines       LineSplitter
	closeReason string
}

// NewComputeSession returns a session with the given line limit.
func NewComputeSession(limits Limits) *ComputeSession {
	return &ComputeSession{lines: LineSplitter{MaxLineBytes: limits.MaxLineBytes}}
}

// Consume implements Session.
func (s *ComputeSession) Consume(in []byte, out *Reply) Verdict {
	for {
		line, status := s.lines.Next(&in)
		switch status {
		case NeedMore:
			return KeepOpen
		case TooLong:
			s.closeReason = "compute line over the limit"
			return Close
		}
		if kib, reason := ParseComputeLine(line); reason == "" {
			out.owned = AppendDigest(out.owned, ComputeDigest(kib))
		} else {
			out.owned = AppendError(out.owned, reason)
		}
	}
}

// CloseReason implements Session.
func (s *ComputeSession) CloseReason() string { return s.closeReason }

// HasPartial implements Session.
func (s *ComputeSession) HasPartial() bool { return s.lines.HasPartial() }
