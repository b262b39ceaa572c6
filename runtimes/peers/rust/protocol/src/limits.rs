//! Size limits shared by every workload (runtimes/protocol/limits.hpp); the options set them, the tests shrink them.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// echo/chat/compute: a longer line closes the connection.
    pub max_line_bytes: usize,
    /// http: request line + header fields, else 431.
    pub max_header_bytes: usize,
    /// http: else 431.
    pub max_header_fields: usize,
    /// http: size of the fixed 200 body ("Hello, World!").
    pub http_body_bytes: usize,
    /// chat: bytes queued per connection before messages are dropped.
    pub chat_outbox_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 64 * 1024,
            max_header_bytes: 8 * 1024,
            max_header_fields: 100,
            http_body_bytes: 13,
            chat_outbox_bytes: 256 * 1024,
        }
    }
}
