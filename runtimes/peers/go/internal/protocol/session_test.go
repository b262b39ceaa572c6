package protocol

import "testing"

// expectSplitInvariant feeds in whole, then split at every byte boundary, and expects the same replies and verdict
// each time: where TCP cuts the stream must not change what the server says (as tests/unit/protocol_test.cpp).
func expectSplitInvariant(t *testing.T, newSession func() Session, in, want string, verdict Verdict) {
	t.Helper()
	for cut := 0; cut <= len(in); cut++ {
		s := newSession()
		var out Reply
		v := KeepOpen
		for _, part := range []string{in[:cut], in[cut:]} {
			if v == Close || part == "" {
				continue
			}
			v = s.Consume([]byte(part), &out)
		}
		if got := string(out.Bytes()); got != want || v != verdict || out.Len() != len(want) {
			t.Fatalf("cut at %d: got %q (verdict %v), want %q (verdict %v)", cut, got, v, want, verdict)
		}
	}
}

func TestReplyKeepsPartsInOrder(t *testing.T) {
	shared := []byte("shared")
	var r Reply
	r.AppendString("a")
	r.Share(shared)
	r.AppendString("b")
	r.AppendString("c")
	r.Share(shared)
	if got := string(r.Bytes()); got != "asharedbcshared" || r.Len() != len(got) || len(r.Parts()) != 4 {
		t.Fatalf("got %q in %d parts", got, len(r.Parts()))
	}
	r.Reset()
	r.AppendString("x")
	if got := string(r.Bytes()); got != "x" || string(shared) != "shared" {
		t.Fatalf("after Reset: %q, shared %q", got, shared)
	}
}
