package server

import (
	"sync"

	"tvt/peers/go/internal/protocol"
)

// hub holds the chat groups. Lock order: hub.mu -> group.mu -> member.mu; nothing else nests.
//   - groups is guarded by hub.mu; a group's member list by its own mu. A group exists while it has members; the
//     last leave deletes it under both locks, so no join can be adding to it meanwhile.
//   - A member's memberships are touched only by its own reader; a member is in a group's list iff the group is in
//     its memberships, which keeps the group alive.
//   - JOINED/LEFT are queued under the group lock, so every message a member receives for a group lies between its
//     JOINED and its LEFT.
type hub struct {
	mu          sync.Mutex
	groups      map[string]*group
	outboxBytes int
}

type group struct {
	mu      sync.Mutex
	members []*member
}

type membership struct {
	name  string
	group *group
}

func newHub(outboxBytes int) *hub {
	return &hub{groups: make(map[string]*group), outboxBytes: outboxBytes}
}

func (h *hub) join(m *member, name []byte) {
	if m.find(name) != nil {
		m.reply(func(b []byte) []byte { return protocol.AppendJoined(b, string(name)) })
		return
	}
	if len(m.memberships) >= protocol.MaxGroupsPerConnection {
		m.reply(func(b []byte) []byte { return protocol.AppendError(b, protocol.ErrTooManyGroups) })
		return
	}
	key := string(name)
	h.mu.Lock()
	g := h.groups[key]
	if g == nil {
		g = &group{}
		h.groups[key] = g
	}
	g.mu.Lock()
	g.members = append(g.members, m)
	m.reply(func(b []byte) []byte { return protocol.AppendJoined(b, key) })
	g.mu.Unlock()
	h.mu.Unlock()
	m.memberships = append(m.memberships, membership{key, g})
}

func (h *hub) leave(m *member, name []byte) {
	for i, ms := range m.memberships {
		if ms.name == string(name) {
			h.remove(m, ms, true)
			m.memberships = append(m.memberships[:i], m.memberships[i+1:]...)
			return
		}
	}
	m.reply(func(b []byte) []byte { return protocol.AppendLeft(b, string(name)) })
}

// post delivers msgLine to every member of the group, the sender included; a member whose outbox is full loses it
// (counted in its outbox). Nobody waits for a slow member.
func (h *hub) post(m *member, name, msgLine []byte) {
	g := m.find(name)
	if g == nil {
		m.reply(func(b []byte) []byte { return protocol.AppendError(b, protocol.ErrNotAMember) })
		return
	}
	g.mu.Lock()
	for _, to := range g.members {
		to.mu.Lock()
		queued := to.outbox.OfferMessage(msgLine)
		to.mu.Unlock()
		if queued {
			signal(to.wake)
		}
	}
	g.mu.Unlock()
}

// leaveAll is called once when the connection ends, before its member is dropped.
func (h *hub) leaveAll(m *member) {
	for _, ms := range m.memberships {
		h.remove(m, ms, false)
	}
	m.memberships = nil
}

func (h *hub) remove(m *member, ms membership, sayLeft bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := ms.group
	g.mu.Lock()
	for i, x := range g.members {
		if x == m {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	if sayLeft {
		m.reply(func(b []byte) []byte { return protocol.AppendLeft(b, ms.name) })
	}
	empty := len(g.members) == 0
	g.mu.Unlock()
	if empty {
		delete(h.groups, ms.name)
	}
}
