//! Chat, sans-I/O (runtimes/protocol/chat.cpp): one client line in, one command out, and the encoders for what the
//! server sends. Group membership and delivery live in `hub`.

pub const MAX_GROUP_NAME_BYTES: usize = 64;
/// A connection's memberships are bounded so that its memory is: a JOIN past this many groups gets ERR.
pub const MAX_GROUPS_PER_CONNECTION: usize = 64;

/// Error reasons sent after "ERR ", fixed strings so that no client bytes are ever reflected.
pub mod chat_error {
    pub const UNKNOWN_COMMAND: &str = "unknown command";
    pub const BAD_GROUP: &str = "bad group name";
    pub const MISSING_PAYLOAD: &str = "MSG needs a group, a space and a payload";
    pub const NOT_A_MEMBER: &str = "not a member";
    pub const TOO_MANY_GROUPS: &str = "too many groups";
}

#[derive(Debug, PartialEq, Eq)]
pub enum ChatCommand<'a> {
    Join(&'a str),
    Leave(&'a str),
    /// The group; the whole line is what gets delivered.
    Msg(&'a str),
    Invalid(&'static str),
}

fn is_group_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

pub fn is_valid_group(group: &[u8]) -> bool {
    !group.is_empty() && group.len() <= MAX_GROUP_NAME_BYTES && group.iter().all(|&c| is_group_char(c))
}

fn with_group<'a>(make: fn(&'a str) -> ChatCommand<'a>, group: &'a [u8]) -> ChatCommand<'a> {
    if !is_valid_group(group) {
        return ChatCommand::Invalid(chat_error::BAD_GROUP);
    }
    // A valid group is ASCII, so this never fails.
    match std::str::from_utf8(group) {
        Ok(g) => make(g),
        Err(_) => ChatCommand::Invalid(chat_error::BAD_GROUP),
    }
}

/// `line` is one client line without its '\n'.
pub fn parse_chat_line(line: &[u8]) -> ChatCommand<'_> {
    let space = match memchr::memchr(b' ', line) {
        Some(s) => s,
        None => return ChatCommand::Invalid(chat_error::UNKNOWN_COMMAND),
    };
    let rest = &line[space + 1..];
    match &line[..space] {
        b"JOIN" => with_group(ChatCommand::Join, rest),
        b"LEAVE" => with_group(ChatCommand::Leave, rest),
        b"MSG" => match memchr::memchr(b' ', rest) {
            Some(p) => with_group(ChatCommand::Msg, &rest[..p]),
            None => ChatCommand::Invalid(chat_error::MISSING_PAYLOAD),
        },
        _ => ChatCommand::Invalid(chat_error::UNKNOWN_COMMAND),
    }
}

// Encoders: each appends one complete line, '\n' included.
pub fn append_joined(out: &mut Vec<u8>, group: &str) {
    append_line(out, &[b"JOINED ", group.as_bytes()]);
}
pub fn append_left(out: &mut Vec<u8>, group: &str) {
    append_line(out, &[b"LEFT ", group.as_bytes()]);
}
pub fn append_error(out: &mut Vec<u8>, reason: &str) {
    append_line(out, &[b"ERR ", reason.as_bytes()]);
}
pub fn append_dropped(out: &mut Vec<u8>, count: u64) {
    append_line(out, &[b"DROPPED ", count.to_string().as_bytes()]);
}
pub fn append_message(out: &mut Vec<u8>, msg_line: &[u8]) {
    append_line(out, &[msg_line]);
}

fn append_line(out: &mut Vec<u8>, parts: &[&[u8]]) {
    for part in parts {
        out.extend_from_slice(part);
    }
    out.push(b'\n');
}
