package protocol

// OutboxKeepBytes: buffers that grew past this are released once drained, so an idle member holds no large block.
const OutboxKeepBytes = 4 * 1024

// ChatOutbox is a chat connection's bounded outbox and its slow-consumer policy, sans-I/O (the caller guards it):
// bytes queued plus bytes being sent never exceed the capacity for group messages. A group message that does not
// fit is dropped for this member and counted; before the next message that fits, `DROPPED <n>` reports how many
// were dropped since the last notice. Replies to the member's own commands are never dropped: its reader stops
// reading while the outbox is over capacity.
type ChatOutbox struct {
	capacity           int
	queued             []byte
	inFlight           int
	droppedSinceNotice uint64
	droppedTotal       uint64
}

// NewChatOutbox returns an empty outbox of the given capacity in bytes.
func NewChatOutbox(capacity int) ChatOutbox { return ChatOutbox{capacity: capacity} }

// OfferMessage queues a group message (without '\n'); false if the policy dropped it.
func (o *ChatOutbox) OfferMessage(msgLine []byte) bool {
	needed := len(msgLine) + 1
	if o.droppedSinceNotice > 0 {
		needed += noticeBytes(o.droppedSinceNotice)
	}
	if len(o.queued)+o.inFlight+needed > o.capacity {
		o.droppedSinceNotice++
		o.droppedTotal++
		return false
	}
	if o.droppedSinceNotice > 0 {
		o.queued = AppendDropped(o.queued, o.droppedSinceNotice)
		o.droppedSinceNotice = 0
	}
	o.queued = AppendMessage(o.queued, msgLine)
	return true
}

// Reply appends a reply to the member's own command (complete lines only).
func (o *ChatOutbox) Reply(appendLine func([]byte) []byte) { o.queued = appendLine(o.queued) }

// HasQueued reports bytes waiting for the writer.
func (o *ChatOutbox) HasQueued() bool { return len(o.queued) > 0 }

// OverCapacity: the reader should wait for the writer before reading more.
func (o *ChatOutbox) OverCapacity() bool { return len(o.queued)+o.inFlight > o.capacity }

// DroppedTotal counts every message the policy dropped for this member.
func (o *ChatOutbox) DroppedTotal() uint64 { return o.droppedTotal }

// StartSend hands the queued bytes to the writer, swapping in its spare buffer (emptied), and counts them against
// the capacity until FinishSend.
func (o *ChatOutbox) StartSend(spare []byte) []byte {
	sending := o.queued
	o.queued = spare[:0]
	o.inFlight = len(sending)
	return sending
}

// FinishSend takes the sent buffer back and returns what the writer should keep as its spare.
func (o *ChatOutbox) FinishSend(sent []byte) []byte {
	o.inFlight = 0
	if len(o.queued) == 0 && cap(o.queued) > OutboxKeepBytes {
		o.queued = nil
	}
	if cap(sent) > OutboxKeepBytes {
		return nil
	}
	return sent[:0]
}

func noticeBytes(n uint64) int {
	digits := 1
	for n >= 10 {
		n /= 10
		digits++
	}
	return len("DROPPED \n") + digits
}
