package protocol

import (
	"strings"
	"testing"
)

func TestParseChatLine(t *testing.T) {
	tests := []struct {
		line   string
		verb   ChatVerb
		group  string
		reason string
	}{
		{"JOIN g-1_A", Join, "g-1_A", ""},
		{"LEAVE g", Leave, "g", ""},
		{"MSG g hello world", Msg, "g", ""},
		{"MSG g ", Msg, "g", ""},
		{"MSG g", Invalid, "", ErrMissingPayload},
		{"JOIN", Invalid, "", ErrUnknownCommand},
		{"join g", Invalid, "", ErrUnknownCommand},
		{"JOIN g!", Invalid, "", ErrBadGroup},
		{"JOIN " + strings.Repeat("a", 65), Invalid, "", ErrBadGroup},
		{"JOIN ", Invalid, "", ErrBadGroup},
	}
	for _, tt := range tests {
		c := ParseChatLine([]byte(tt.line))
		if c.Verb != tt.verb || string(c.Group) != tt.group || c.Reason != tt.reason {
			t.Errorf("ParseChatLine(%q) = %v %q %q", tt.line, c.Verb, c.Group, c.Reason)
		}
	}
}

func TestChatOutboxDropsAndCounts(t *testing.T) {
	o := NewChatOutbox(16)
	if !o.OfferMessage([]byte("MSG g 12345")) { // 12 bytes
		t.Fatal("first message dropped")
	}
	if o.OfferMessage([]byte("MSG g 12345")) || o.OfferMessage([]byte("MSG g 1")) {
		t.Fatal("a message over capacity was queued")
	}
	sending := o.StartSend(nil)
	if string(sending) != "MSG g 12345\n" || o.OverCapacity() {
		t.Fatalf("sending %q", sending)
	}
	if o.OfferMessage([]byte("MSG g 1")) { // 8 + "DROPPED 2\n" does not fit beside 12 in flight
		t.Fatal("queued while the in-flight bytes fill the outbox")
	}
	o.FinishSend(sending)
	if !o.OfferMessage([]byte("MSG g")) {
		t.Fatal("dropped with the outbox empty")
	}
	if got := string(o.StartSend(nil)); got != "DROPPED 3\nMSG g\n" {
		t.Fatalf("got %q", got)
	}
	if o.DroppedTotal() != 3 {
		t.Fatalf("dropped total %d", o.DroppedTotal())
	}
}

func TestChatRepliesAreNeverDropped(t *testing.T) {
	o := NewChatOutbox(8)
	for i := 0; i < 3; i++ {
		o.Reply(func(b []byte) []byte { return AppendJoined(b, "group") })
	}
	if !o.OverCapacity() || string(o.StartSend(nil)) != strings.Repeat("JOINED group\n", 3) {
		t.Fatal("replies were dropped or not counted")
	}
}
