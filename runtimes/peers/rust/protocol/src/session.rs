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

/// What a connection loop asks once the replies to a read went out: close now? True when the session said so (its
/// reason logged) or when a half-received request has overrun the slowloris deadline (`idle`).
pub fn close_after_reply<S: Session>(
    session: &S,
    verdict: Verdict,
    deadline: &mut crate::deadline::PartialRequestDeadline,
    idle: Option<std::time::Duration>,
) -> bool {
    if verdict == Verdict::Close {
        if !session.close_reason().is_empty() {
            crate::process::log_rate_limited(&format!("closing a connection: {}", session.close_reason()));
        }
        return true;
    }
    deadline.overdue(session.has_partial(), idle, "request")
}

/// Empties `v` and gives its heap block back: clear() would keep the capacity of the largest request ever seen, and
/// memory per idle connection is what the suite measures.
pub fn release(v: &mut Vec<u8>) {
    *v = Vec::new();
}
