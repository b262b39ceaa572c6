//! The slowloris rule (runtimes/net/partial_request_deadline.hpp): a request may take at most `limit` to arrive whole
//! once its first byte is in. Idle time between requests is the streams' idle timeout. The clock is read only while a
//! request is half-received, which a benchmark client never leaves it in.
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct PartialRequestDeadline {
    since: Option<Instant>, // when the current partial request was first seen
}

impl PartialRequestDeadline {
    /// Call after each read. True: the request half-received now has been arriving for longer than `limit` (logged,
    /// naming `what`); the caller closes the connection. `limit` None = no limit.
    pub fn overdue(&mut self, has_partial: bool, limit: Option<Duration>, what: &str) -> bool {
        let limit = match limit {
            Some(l) if has_partial => l,
            _ => {
                self.since = None;
                return false;
            }
        };
        let now = Instant::now();
        match self.since {
            None => {
                self.since = Some(now);
                false
            }
            Some(since) if now - since <= limit => false,
            Some(_) => {
                crate::process::log_rate_limited(&format!(
                    "closing a connection: {} not received whole within {} ms",
                    what,
                    limit.as_millis()
                ));
                true
            }
        }
    }
}
