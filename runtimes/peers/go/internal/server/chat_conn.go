package server

import (
	"net"

	"tvt/peers/go/internal/protocol"
)

// serveChat runs one chat connection: this goroutine reads and acts on the hub, a second one (the writer) drains the
// member's outbox, so a member keeps receiving while its own input is idle and nobody waits on a slow member.
// Shutdown: the reader leaves every group, marks itself done and wakes the writer, which sends what is queued and
// exits; the reader waits for it. When the server decides to close (oversized line, timeout) it closes the socket
// first, so a writer stuck on a peer that never reads returns at once. A failed write closes the socket, which ends
// the reader's read.
func serveChat(c net.Conn, h *hub, maxLineBytes int, timeout deadline) {
	m := newMember(h.outboxBytes)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		writeLoop(c, m, timeout)
	}()

	serverCloses := readLoop(c, h, m, maxLineBytes, timeout)

	h.leaveAll(m)
	m.mu.Lock()
	m.readerDone = true
	m.mu.Unlock()
	signal(m.wake)
	if serverCloses {
		c.Close()
	}
	<-writerDone
}

// readLoop returns true when the server, not the peer, ended the connection.
func readLoop(c net.Conn, h *hub, m *member, maxLineBytes int, timeout deadline) bool {
	lines := protocol.LineSplitter{MaxLineBytes: maxLineBytes}
	buf := make([]byte, readBufferBytes)
	for {
		timeout.beforeRead(c, lines.HasPartial())
		n, err := c.Read(buf)
		in := buf[:n]
		for {
			line, status := lines.Next(&in)
			if status == protocol.NeedMore {
				break
			}
			if status == protocol.TooLong {
				connLog.printf("closing a connection: chat line over the limit")
				return true
			}
			switch cmd := protocol.ParseChatLine(line); cmd.Verb {
			case protocol.Join:
				h.join(m, cmd.Group)
			case protocol.Leave:
				h.leave(m, cmd.Group)
			case protocol.Msg:
				h.post(m, cmd.Group, line)
			default:
				m.reply(func(b []byte) []byte { return protocol.AppendError(b, cmd.Reason) })
			}
		}
		if !waitForSpace(m) {
			return false
		}
		if err != nil {
			if timeout.expiredMidRequest(err) {
				connLog.printf("closing a connection: chat line not received whole within %v", timeout.timeout)
				return true
			}
			return timeout.timeout > 0 && isTimeout(err)
		}
	}
}

// waitForSpace is the backpressure on a member's own replies: the reader reads no more while its outbox is over
// capacity. False: the writer failed.
func waitForSpace(m *member) bool {
	for {
		m.mu.Lock()
		over, failed := m.outbox.OverCapacity(), m.writerFailed
		m.mu.Unlock()
		if failed {
			return false
		}
		if !over {
			return true
		}
		<-m.space
	}
}

func writeLoop(c net.Conn, m *member, timeout deadline) {
	var spare []byte
	for {
		m.mu.Lock()
		if !m.outbox.HasQueued() {
			done := m.readerDone
			m.mu.Unlock()
			if done {
				return
			}
			<-m.wake
			continue
		}
		sending := m.outbox.StartSend(spare)
		m.mu.Unlock()

		timeout.beforeWrite(c)
		_, err := c.Write(sending)

		m.mu.Lock()
		spare = m.outbox.FinishSend(sending)
		if err != nil {
			m.writerFailed = true
		}
		m.mu.Unlock()
		signal(m.space)
		if err != nil {
			c.Close()
			return
		}
	}
}
