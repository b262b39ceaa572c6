//! The per-connection contract (runtimes/protocol/session.hpp): a session takes bytes as they arrive and appends what
//! to send; it never touches a socket, so every peer runs the same bytes through the same code.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send what was appended, then read more.
    KeepOpen,
    /// Send what was appended, then close (Connection: close, 400/431, oversized line, ...).
    Close,
}

pub trait Session: Send + 'static {
    /// `input` is valid only during the call; whatever is unconsumed the session copies into state of its own (and
    /// only then: an idle session between whole requests owns no heap buffer). Replies are appended to `out`.
    fn consume(&mut self, input: &[u8], out: &mut Vec<u8>) -> Verdict;
    /// Why the last `Close` verdict was given, for the log ("" for a clean close).
    fn close_reason(&self) -> &'static str;
    /// True while a request is half-received (the slowloris deadline).
    fn has_partial(&self) -> bool;
}

/// Empties `v` and gives its heap block back: clear() would keep the capacity of the largest request ever seen, and
/// memory per idle connection is what the suite measures.
pub fn release(v: &mut Vec<u8>) {
    *v = Vec::new();
}
