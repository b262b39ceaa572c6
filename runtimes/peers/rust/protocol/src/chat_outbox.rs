//! A chat connection's bounded outbox and its slow-consumer policy (runtimes/protocol/chat_outbox.hpp), sans-I/O.
//!
//! Bytes queued plus bytes being sent never exceed `capacity_bytes` for group messages. A group message that does not
//! fit is dropped for this member and counted; before the next message that does fit, a `DROPPED <n>` line reports
//! how many were dropped since the last notice (the notice must fit too). Replies to the connection's own commands are
//! never dropped: its reader stops reading while the outbox is over capacity.
//!
//! Memory: at most two buffers (queued, in flight), both released when they grew past `KEEP_BYTES` and drained.
use crate::chat::{append_dropped, append_message};
use crate::release;

pub const KEEP_BYTES: usize = 4 * 1024;

pub struct ChatOutbox {
    capacity_bytes: usize,
    queued: Vec<u8>,
    in_flight_bytes: usize,
    dropped_since_notice: u64,
    dropped_total: u64,
}

fn notice_bytes(n: u64) -> usize {
    "DROPPED \n".len() + n.to_string().len()
}

impl ChatOutbox {
    pub fn new(capacity_bytes: usize) -> Self {
        ChatOutbox { capacity_bytes, queued: Vec::new(), in_flight_bytes: 0, dropped_since_notice: 0, dropped_total: 0 }
    }

    /// A group message (`msg_line` without '\n'). Returns false if it was dropped by the policy.
    pub fn offer_message(&mut self, msg_line: &[u8]) -> bool {
        let mut needed = msg_line.len() + 1;
        if self.dropped_since_notice > 0 {
            needed += notice_bytes(self.dropped_since_notice);
        }
        if self.queued.len() + self.in_flight_bytes + needed > self.capacity_bytes {
            self.dropped_since_notice += 1;
            self.dropped_total += 1;
            return false;
        }
        if self.dropped_since_notice > 0 {
            append_dropped(&mut self.queued, self.dropped_since_notice);
            self.dropped_since_notice = 0;
        }
        append_message(&mut self.queued, msg_line);
        true
    }

    /// The buffer replies to this connection's own commands are appended to (complete lines only).
    pub fn replies(&mut self) -> &mut Vec<u8> {
        &mut self.queued
    }

    pub fn has_queued(&self) -> bool {
        !self.queued.is_empty()
    }
    /// True when the reader should wait for the writer before reading more.
    pub fn over_capacity(&self) -> bool {
        self.queued.len() + self.in_flight_bytes > self.capacity_bytes
    }
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }

    /// Writer side: moves the queued bytes into `sending` (whose old contents are discarded) and counts them against
    /// the capacity until finish_send().
    pub fn start_send(&mut self, sending: &mut Vec<u8>) {
        sending.clear();
        std::mem::swap(sending, &mut self.queued);
        self.in_flight_bytes = sending.len();
    }
    pub fn finish_send(&mut self, sending: &mut Vec<u8>) {
        self.in_flight_bytes = 0;
        if sending.capacity() > KEEP_BYTES {
            release(sending);
        }
        if self.queued.is_empty() && self.queued.capacity() > KEEP_BYTES {
            release(&mut self.queued);
        }
    }
}
