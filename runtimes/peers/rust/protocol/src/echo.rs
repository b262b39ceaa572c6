//! Echo (runtimes/protocol/echo.cpp): newline-delimited messages, each echoed back with its newline; a line longer
//! than the limit closes the connection.
use crate::session::{release, Session, Verdict};
use crate::Limits;

pub struct EchoSession {
    max_line_bytes: usize,
    partial: Vec<u8>, // bytes of an unfinished line; empty (no heap) between lines
    close_reason: &'static str,
}

impl EchoSession {
    pub fn new(limits: &Limits) -> Self {
        EchoSession { max_line_bytes: limits.max_line_bytes, partial: Vec::new(), close_reason: "" }
    }
}

impl Session for EchoSession {
    fn consume(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Verdict {
        while !input.is_empty() {
            let newline = match memchr::memchr(b'\n', input) {
                Some(n) => n,
                None => {
                    if self.partial.len() + input.len() > self.max_line_bytes {
                        self.close_reason = "echo line over the limit";
                        return Verdict::Close;
                    }
                    self.partial.extend_from_slice(input);
                    return Verdict::KeepOpen;
                }
            };
            if self.partial.len() + newline > self.max_line_bytes {
                self.close_reason = "echo line over the limit";
                return Verdict::Close;
            }
            if !self.partial.is_empty() {
                out.extend_from_slice(&self.partial);
                release(&mut self.partial);
            }
            out.extend_from_slice(&input[..=newline]);
            input = &input[newline + 1..];
        }
        Verdict::KeepOpen
    }
    fn close_reason(&self) -> &'static str {
        self.close_reason
    }
    fn has_partial(&self) -> bool {
        !self.partial.is_empty()
    }
}
