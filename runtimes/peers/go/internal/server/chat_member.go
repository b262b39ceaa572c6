package server

import (
	"sync"

	"tvt/peers/go/internal/protocol"
)

// member is one chat connection's side of the hub: its outbox (guarded by mu), its writer's wake-ups and its
// memberships (reader-only).
type member struct {
	mu           sync.Mutex
	outbox       protocol.ChatOutbox
	readerDone   bool          // no more replies will be queued; the writer drains and exits
	writerFailed bool          // the peer is gone; the reader stops
	wake         chan struct{} // outbox gained bytes, or the reader is done
	space        chan struct{} // the writer finished a send, or failed
	memberships  []membership
}

func newMember(outboxBytes int) *member {
	return &member{
		outbox: protocol.NewChatOutbox(outboxBytes),
		wake:   make(chan struct{}, 1),
		space:  make(chan struct{}, 1),
	}
}

// signal leaves a wake-up token unless one is already pending: the waiter rechecks its condition under mu, so one
// token covers any number of changes.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// reply queues a reply to the member's own command; replies are never dropped.
func (m *member) reply(appendLine func([]byte) []byte) {
	m.mu.Lock()
	m.outbox.Reply(appendLine)
	m.mu.Unlock()
	signal(m.wake)
}

func (m *member) find(name []byte) *group {
	for _, ms := range m.memberships {
		if ms.name == string(name) {
			return ms.group
		}
	}
	return nil
}
