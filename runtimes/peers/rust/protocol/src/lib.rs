//! The suite's workloads, sans-I/O, in Rust: the same logic and the same bytes as runtimes/protocol (C++), so that
//! the peers compare runtimes, not protocol code. Bytes in, bytes out; no sockets, threads or clocks except in
//! `deadline` (a clock read only while a request is half-received), `hub` (async locks, no I/O) and `process`.
pub mod chat;
pub mod chat_outbox;
pub mod compute;
pub mod deadline;
pub mod echo;
pub mod http;
pub mod hub;
pub mod limits;
pub mod line_splitter;
pub mod options;
pub mod process;
pub mod session;

pub use limits::Limits;
pub use session::{close_after_reply, release, Session, Verdict};
