//! Splits a byte stream into '\n'-terminated lines for chat and compute (runtimes/protocol/line_splitter.hpp).
//! Pull-style so that a caller may await between lines: a line that arrives whole inside one read is handed out as a
//! slice of that read's bytes, with no copy; only a line split across reads is assembled in `partial`.

pub enum Split<'a> {
    /// The next line, without its '\n'.
    Line(&'a [u8]),
    /// The input is used up; its unfinished tail is kept until the next read.
    NeedMore,
    /// The line exceeds the limit: the caller closes the connection.
    TooLong,
}

pub struct LineSplitter {
    max_line_bytes: usize,
    partial: Vec<u8>, // bytes of an unfinished line; empty (no heap) between lines
    assembled: bool,  // the last line handed out is `partial` itself
}

impl LineSplitter {
    pub fn new(max_line_bytes: usize) -> Self {
        LineSplitter { max_line_bytes, partial: Vec::new(), assembled: false }
    }

    /// Takes bytes from the front of `input` up to and including the next '\n'. The line borrows the splitter, so it
    /// is gone before the next call (which may reuse `partial`).
    pub fn next<'s, 'i: 's>(&'s mut self, input: &mut &'i [u8]) -> Split<'s> {
        if self.assembled {
            // The previous line lived in `partial`: give its heap block back now that it has been used.
            crate::release(&mut self.partial);
            self.assembled = false;
        }
        let rest: &'i [u8] = input;
        match memchr::memchr(b'\n', rest) {
            None => {
                if self.partial.len() + rest.len() > self.max_line_bytes {
                    return Split::TooLong;
                }
                self.partial.extend_from_slice(rest);
                *input = &rest[rest.len()..];
                Split::NeedMore
            }
            Some(length) => {
                if self.partial.len() + length > self.max_line_bytes {
                    return Split::TooLong;
                }
                *input = &rest[length + 1..];
                if self.partial.is_empty() {
                    Split::Line(&rest[..length])
                } else {
                    self.partial.extend_from_slice(&rest[..length]);
                    self.assembled = true;
                    Split::Line(&self.partial)
                }
            }
        }
    }

    /// True while a line is half-received (for the request-read timeout).
    pub fn has_partial(&self) -> bool {
        !self.assembled && !self.partial.is_empty()
    }
}
