//! The chat hub shared by the Rust peers, as the seed builds it: group state behind async mutexes (a task waiting for
//! one parks and its worker runs others), and capacity-1 channels as wake-up tokens between a member's reader task
//! and its writer task. It uses async-lock and async-channel, which are what async-std's own `sync::Mutex` and
//! `channel` are built from, and which work on any executor, so tokio's peer runs the same hub code (the coro back
//! end's chat hub in runtimes/coro/ is the C++ twin). The sockets stay with each peer: this module does no I/O.
//!
//! Invariants:
//! - The group table is guarded by `Hub::groups`, a group's member list by its own mutex, a member's outbox and flags
//!   by `Member::state` (a std mutex: held for a few instructions, never across an await). Lock order: table ->
//!   group -> member.
//! - A member's memberships are touched only by its reader (`ChatConnection` is the reader's own). A group is in the
//!   table while its list is non-empty.
//! - JOINED/LEFT are queued under the group lock, so a member's messages for a group lie between its JOINED and LEFT.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_lock::Mutex as AsyncMutex;

use crate::chat::{self, chat_error, ChatCommand};
use crate::chat_outbox::ChatOutbox;
use crate::deadline::PartialRequestDeadline;
use crate::line_splitter::{LineSplitter, Split};
use crate::Limits;

/// A capacity-1 channel used as a notification: a token already queued means "look again", so notify never waits.
struct Token {
    tx: async_channel::Sender<()>,
    rx: async_channel::Receiver<()>,
}

impl Token {
    fn new() -> Self {
        let (tx, rx) = async_channel::bounded(1);
        Token { tx, rx }
    }
    fn notify(&self) {
        let _ = self.tx.try_send(()); // full = a token is pending already, which is all a wake-up needs
    }
    async fn wait(&self) {
        let _ = self.rx.recv().await; // never closed: both ends live in the member
    }
}

struct MemberState {
    outbox: ChatOutbox,
    reader_done: bool,
    writer_failed: bool,
}

/// One connection's delivery side, shared by its reader, its writer and the groups it is in.
pub struct Member {
    state: Mutex<MemberState>,
    wake_writer: Token, // the outbox gained bytes, or the reader is done
    space_freed: Token, // the writer finished a send, or failed
}

impl Member {
    fn state(&self) -> MutexGuard<'_, MemberState> {
        // A panic while holding it would already have ended the process's usefulness; keep serving the rest.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a reply (JOINED/LEFT/ERR) for this member itself: never dropped.
    fn reply(&self, append: impl FnOnce(&mut Vec<u8>)) {
        append(self.state().outbox.replies());
        self.wake_writer.notify();
    }

    fn offer(&self, msg_line: &[u8]) {
        let queued = self.state().outbox.offer_message(msg_line);
        if queued {
            self.wake_writer.notify();
        }
    }

    /// Writer: waits for queued bytes and moves them into `sending`; false once the reader is done and all is sent.
    pub async fn next_to_send(&self, sending: &mut Vec<u8>) -> bool {
        loop {
            {
                let mut s = self.state();
                if s.outbox.has_queued() {
                    s.outbox.start_send(sending);
                    return true;
                }
                if s.reader_done {
                    return false;
                }
            }
            self.wake_writer.wait().await;
        }
    }

    /// Writer: `sending` went out whole.
    pub fn finish_send(&self, sending: &mut Vec<u8>) {
        self.state().outbox.finish_send(sending);
        sending.clear();
        self.space_freed.notify();
    }

    /// Writer: a send failed or timed out; the reader stops at its next look.
    pub fn writer_failed(&self) {
        self.state().writer_failed = true;
        self.space_freed.notify();
    }

    /// Backpressure on our own replies: waits while the outbox is over capacity. False if the writer failed.
    async fn wait_for_space(&self) -> bool {
        loop {
            {
                let s = self.state();
                if s.writer_failed {
                    return false;
                }
                if !s.outbox.over_capacity() {
                    return true;
                }
            }
            self.space_freed.wait().await;
        }
    }

    fn set_reader_done(&self) {
        self.state().reader_done = true;
        self.wake_writer.notify();
    }
}

#[derive(Default)]
struct Group {
    members: AsyncMutex<Vec<Arc<Member>>>,
}

/// The reader's side of one connection: its member, the groups it joined, its partial line.
pub struct ChatConnection {
    pub member: Arc<Member>,
    memberships: Vec<(String, Arc<Group>)>,
    lines: LineSplitter,
    deadline: PartialRequestDeadline,
}

/// What the reader does after a read.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterRead {
    ReadMore,
    /// A line over the limit, a slowloris line, or a failed writer: the server closes the connection.
    Close,
}

pub struct Hub {
    limits: Limits,
    groups: AsyncMutex<HashMap<String, Arc<Group>>>,
}

impl Hub {
    pub fn new(limits: &Limits) -> Self {
        Hub { limits: limits.clone(), groups: AsyncMutex::new(HashMap::new()) }
    }

    pub fn connect(&self) -> ChatConnection {
        let state = MemberState {
            outbox: ChatOutbox::new(self.limits.chat_outbox_bytes),
            reader_done: false,
            writer_failed: false,
        };
        ChatConnection {
            member: Arc::new(Member { state: Mutex::new(state), wake_writer: Token::new(), space_freed: Token::new() }),
            memberships: Vec::new(),
            lines: LineSplitter::new(self.limits.max_line_bytes),
            deadline: PartialRequestDeadline::default(),
        }
    }

    /// Runs every whole line in `input`, then applies backpressure and the slowloris deadline.
    pub async fn on_read(&self, c: &mut ChatConnection, mut input: &[u8], idle: Option<Duration>) -> AfterRead {
        loop {
            match c.lines.next(&mut input) {
                Split::NeedMore => break,
                Split::TooLong => {
                    crate::process::log_rate_limited("closing a connection: chat line over the limit");
                    return AfterRead::Close;
                }
                Split::Line(line) => match chat::parse_chat_line(line) {
                    ChatCommand::Join(group) => self.join(&c.member, &mut c.memberships, group).await,
                    ChatCommand::Leave(group) => self.leave(&c.member, &mut c.memberships, group).await,
                    ChatCommand::Msg(group) => Self::post(&c.member, &c.memberships, group, line).await,
                    ChatCommand::Invalid(reason) => c.member.reply(|out| chat::append_error(out, reason)),
                },
            }
        }
        if !c.member.wait_for_space().await {
            return AfterRead::Close;
        }
        if c.deadline.overdue(c.lines.has_partial(), idle, "chat line") {
            return AfterRead::Close;
        }
        AfterRead::ReadMore
    }

    /// The reader is done: leaves every group and lets the writer finish what is queued.
    pub async fn disconnect(&self, c: &mut ChatConnection) {
        for (name, group) in std::mem::take(&mut c.memberships) {
            self.remove(&c.member, &name, &group, false).await;
        }
        c.member.set_reader_done();
    }

    async fn join(&self, m: &Arc<Member>, memberships: &mut Vec<(String, Arc<Group>)>, name: &str) {
        if memberships.iter().any(|(n, _)| n == name) {
            m.reply(|out| chat::append_joined(out, name));
            return;
        }
        if memberships.len() >= chat::MAX_GROUPS_PER_CONNECTION {
            m.reply(|out| chat::append_error(out, chat_error::TOO_MANY_GROUPS));
            return;
        }
        let mut groups = self.groups.lock().await;
        let group = groups.entry(name.to_owned()).or_default().clone();
        let mut members = group.members.lock().await;
        members.push(m.clone());
        m.reply(|out| chat::append_joined(out, name));
        drop(members);
        memberships.push((name.to_owned(), group));
    }

    async fn leave(&self, m: &Arc<Member>, memberships: &mut Vec<(String, Arc<Group>)>, name: &str) {
        match memberships.iter().position(|(n, _)| n == name) {
            None => m.reply(|out| chat::append_left(out, name)),
            Some(i) => {
                let (name, group) = memberships.remove(i);
                self.remove(m, &name, &group, true).await;
            }
        }
    }

    async fn post(m: &Arc<Member>, memberships: &[(String, Arc<Group>)], name: &str, msg_line: &[u8]) {
        let group = match memberships.iter().find(|(n, _)| n == name) {
            Some((_, g)) => g,
            None => return m.reply(|out| chat::append_error(out, chat_error::NOT_A_MEMBER)),
        };
        for member in group.members.lock().await.iter() {
            member.offer(msg_line);
        }
    }

    async fn remove(&self, m: &Arc<Member>, name: &str, group: &Arc<Group>, say_left: bool) {
        let mut groups = self.groups.lock().await;
        let now_empty = {
            let mut members = group.members.lock().await;
            if let Some(i) = members.iter().position(|x| Arc::ptr_eq(x, m)) {
                members.remove(i);
            }
            if say_left {
                m.reply(|out| chat::append_left(out, name));
            }
            members.is_empty()
        };
        if now_empty {
            groups.remove(name);
        }
    }
}
