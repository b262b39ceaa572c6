//! HTTP/1.1 keep-alive server side (runtimes/protocol/http.cpp, byte for byte): GET and HEAD answered with a fixed
//! 200 body, pipelined requests in order. Malformed request -> 400 and close; header section over the byte or field
//! limit -> 431 and close; other methods -> 405 and close; `Connection: close` (or HTTP/1.0 without keep-alive) ->
//! answer, then close. Bodies announced with Content-Length are read and discarded; Transfer-Encoding -> 501.
use std::sync::Arc;

use crate::session::{release, Session, Verdict};
use crate::Limits;

/// Every reply the server can send, built once per server so that answering is one append.
pub struct HttpReplies {
    pub max_header_bytes: usize,
    pub max_header_fields: usize,
    pub ok: Vec<u8>,            // 200, keep-alive (HTTP/1.1 default)
    pub ok_keep_alive: Vec<u8>, // 200 to an HTTP/1.0 client that asked for keep-alive
    pub ok_close: Vec<u8>,      // 200 with Connection: close
    pub head_ok: Vec<u8>,
    pub head_ok_keep_alive: Vec<u8>,
    pub head_ok_close: Vec<u8>,
    pub bad_request: Vec<u8>,
    pub header_too_large: Vec<u8>,
    pub method_not_allowed: Vec<u8>,
    pub not_implemented: Vec<u8>,
    pub version_not_supported: Vec<u8>,
    pub payload_too_large: Vec<u8>,
}

fn make_body(bytes: usize) -> Vec<u8> {
    b"Hello, World!".iter().copied().cycle().take(bytes).collect()
}

fn reply_200(body: &[u8], connection: &str, head: bool) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n", body.len());
    if !connection.is_empty() {
        r.push_str(&format!("Connection: {}\r\n", connection));
    }
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    if !head {
        r.extend_from_slice(body);
    }
    r
}

fn reply_error(status: &str, extra_header: &str) -> Vec<u8> {
    format!("HTTP/1.1 {}\r\nContent-Length: 0\r\nConnection: close\r\n{}\r\n", status, extra_header).into_bytes()
}

impl HttpReplies {
    pub fn new(limits: &Limits) -> Self {
        let body = make_body(limits.http_body_bytes);
        HttpReplies {
            max_header_bytes: limits.max_header_bytes,
            max_header_fields: limits.max_header_fields,
            ok: reply_200(&body, "", false),
            ok_keep_alive: reply_200(&body, "keep-alive", false),
            ok_close: reply_200(&body, "close", false),
            head_ok: reply_200(&body, "", true),
            head_ok_keep_alive: reply_200(&body, "keep-alive", true),
            head_ok_close: reply_200(&body, "close", true),
            bad_request: reply_error("400 Bad Request", ""),
            header_too_large: reply_error("431 Request Header Fields Too Large", ""),
            method_not_allowed: reply_error("405 Method Not Allowed", "Allow: GET, HEAD\r\n"),
            not_implemented: reply_error("501 Not Implemented", ""),
            version_not_supported: reply_error("505 HTTP Version Not Supported", ""),
            payload_too_large: reply_error("413 Content Too Large", ""),
        }
    }
}

pub const MAX_BODY_BYTES: usize = 1 << 20;

pub struct HttpSession {
    replies: Arc<HttpReplies>, // shared, immutable
    partial: Vec<u8>,          // an unfinished header section; empty (no heap) between requests
    body_to_skip: usize,       // bytes of a request body still to discard
    close_reason: &'static str,
}

enum Step {
    NeedMore,
    Next,
    Close,
}

// ASCII case fold; callers compare against letters and '-'.
fn iequals(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x | 0x20) == (y | 0x20))
}

fn trim_blanks(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

// True if the comma-separated token list `value` contains `token` (case-insensitive).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value.split(|&c| c == b',').any(|item| iequals(trim_blanks(item), token))
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&c| is_token_char(c))
}

fn strip_cr(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    }
}

fn find(s: &[u8], c: u8) -> Option<usize> {
    memchr::memchr(c, s)
}

// Like std::from_chars for an unsigned integer over the whole value: digits only (no sign, no blanks), no overflow.
fn parse_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

fn fail(out: &mut Vec<u8>, reply: &[u8], reason_slot: &mut &'static str, reason: &'static str) -> Step {
    out.extend_from_slice(reply);
    *reason_slot = reason;
    Step::Close
}

// Parses one request from the front of `input`. On `Next` it has answered it and advanced `input` past it.
fn parse_one(
    r: &HttpReplies,
    input: &mut &[u8],
    out: &mut Vec<u8>,
    body_to_skip: &mut usize,
    reason: &mut &'static str,
) -> Step {
    let inp: &[u8] = input;
    // Find the blank line that ends the header section, counting lines as we go (LF or CRLF line ends).
    let mut line_start = 0;
    let mut lines = 0;
    let mut request_line_start = 0;
    let mut header_end = None;
    loop {
        let limit = inp.len().min(r.max_header_bytes + 2);
        let pos = if line_start < limit { find(&inp[line_start..limit], b'\n').map(|p| p + line_start) } else { None };
        let pos = match pos {
            Some(p) => p,
            None => break,
        };
        let line = strip_cr(&inp[line_start..pos]);
        let this_line_start = line_start;
        line_start = pos + 1;
        if line.is_empty() {
            if lines == 0 {
                continue; // RFC 9112 2.2: ignore empty lines before the request line
            }
            header_end = Some(line_start);
            break;
        }
        if lines == 0 {
            request_line_start = this_line_start;
        }
        lines += 1;
        if lines > r.max_header_fields + 1 {
            return fail(out, &r.header_too_large, reason, "http: too many header fields");
        }
    }
    let header_end = match header_end {
        Some(h) => h,
        None => {
            // The section may take max_header_bytes plus its final CRLF; deciding earlier would make the verdict
            // depend on where TCP cut the stream.
            if inp.len() >= r.max_header_bytes + 2 {
                return fail(out, &r.header_too_large, reason, "http: header section too large");
            }
            return Step::NeedMore;
        }
    };
    if header_end > r.max_header_bytes + 2 {
        return fail(out, &r.header_too_large, reason, "http: header section too large");
    }

    // Request line: METHOD SP target SP HTTP/1.x, found by position (a request line may start with a stray CR).
    let mut head = &inp[request_line_start..header_end];
    let first_nl = find(head, b'\n').unwrap_or(head.len() - 1);
    let request_line = strip_cr(&head[..first_nl]);
    head = &head[first_nl + 1..];
    let sp1 = find(request_line, b' ');
    let sp2 = sp1.and_then(|s1| find(&request_line[s1 + 1..], b' ').map(|p| p + s1 + 1));
    let (sp1, sp2) = match (sp1, sp2) {
        (Some(a), Some(b)) if find(&request_line[b + 1..], b' ').is_none() => (a, b),
        _ => return fail(out, &r.bad_request, reason, "http: malformed request line"),
    };
    let method = &request_line[..sp1];
    let target = &request_line[sp1 + 1..sp2];
    let version = &request_line[sp2 + 1..];
    if !is_token(method) || target.is_empty() {
        return fail(out, &r.bad_request, reason, "http: malformed request line");
    }
    if version.len() != 8
        || &version[..5] != b"HTTP/"
        || version[6] != b'.'
        || !version[5].is_ascii_digit()
        || !version[7].is_ascii_digit()
    {
        return fail(out, &r.bad_request, reason, "http: malformed version");
    }
    if version[5] != b'1' {
        return fail(out, &r.version_not_supported, reason, "http: unsupported version");
    }
    let http10 = version[7] == b'0';
    let mut keep_alive = !http10; // HTTP/1.1 defaults to keep-alive, HTTP/1.0 to close
    let mut asked_keep_alive = false;
    let mut content_length = 0usize;
    let mut seen_content_length = false;

    while !head.is_empty() {
        let nl = find(head, b'\n').unwrap_or(head.len() - 1);
        let field = strip_cr(&head[..nl]);
        head = &head[nl + 1..];
        if field.is_empty() {
            break;
        }
        let colon = match find(field, b':') {
            Some(c) if is_token(&field[..c]) => c,
            _ => return fail(out, &r.bad_request, reason, "http: malformed header field"),
        };
        let name = &field[..colon];
        let value = trim_blanks(&field[colon + 1..]);
        if iequals(name, b"connection") {
            if has_token(value, b"close") {
                keep_alive = false;
            }
            if has_token(value, b"keep-alive") {
                asked_keep_alive = true;
            }
        } else if iequals(name, b"content-length") {
            match parse_length(value) {
                Some(n) if !seen_content_length || n == content_length => {
                    content_length = n;
                    seen_content_length = true;
                }
                _ => return fail(out, &r.bad_request, reason, "http: bad Content-Length"),
            }
        } else if iequals(name, b"transfer-encoding") {
            return fail(out, &r.not_implemented, reason, "http: Transfer-Encoding not supported");
        }
    }
    if http10 && asked_keep_alive {
        keep_alive = true;
    }

    let is_get = method == b"GET";
    if !is_get && method != b"HEAD" {
        return fail(out, &r.method_not_allowed, reason, "http: method not allowed");
    }
    if content_length > MAX_BODY_BYTES {
        return fail(out, &r.payload_too_large, reason, "http: request body too large");
    }

    out.extend_from_slice(match (keep_alive, http10, is_get) {
        (false, _, true) => &r.ok_close,
        (false, _, false) => &r.head_ok_close,
        (true, true, true) => &r.ok_keep_alive,
        (true, true, false) => &r.head_ok_keep_alive,
        (true, false, true) => &r.ok,
        (true, false, false) => &r.head_ok,
    });
    *input = &inp[header_end..];
    *body_to_skip = content_length;
    if !keep_alive {
        *reason = "";
        return Step::Close;
    }
    Step::Next
}

impl HttpSession {
    pub fn new(replies: Arc<HttpReplies>) -> Self {
        HttpSession { replies, partial: Vec::new(), body_to_skip: 0, close_reason: "" }
    }

    fn parse_all(&mut self, input: &mut &[u8], out: &mut Vec<u8>) -> Verdict {
        while !input.is_empty() {
            if self.body_to_skip > 0 {
                let skip = self.body_to_skip.min(input.len());
                self.body_to_skip -= skip;
                *input = &input[skip..];
                continue;
            }
            match parse_one(&self.replies, input, out, &mut self.body_to_skip, &mut self.close_reason) {
                Step::NeedMore => return Verdict::KeepOpen,
                Step::Close => return Verdict::Close,
                Step::Next => {}
            }
        }
        Verdict::KeepOpen
    }
}

impl Session for HttpSession {
    fn consume(&mut self, input: &[u8], out: &mut Vec<u8>) -> Verdict {
        if self.partial.is_empty() {
            let mut rest = input;
            if self.parse_all(&mut rest, out) == Verdict::Close {
                return Verdict::Close;
            }
            if !rest.is_empty() {
                self.partial.extend_from_slice(rest);
            }
            return Verdict::KeepOpen;
        }
        let mut partial = std::mem::take(&mut self.partial);
        partial.extend_from_slice(input);
        let mut rest: &[u8] = &partial;
        if self.parse_all(&mut rest, out) == Verdict::Close {
            return Verdict::Close;
        }
        let consumed = partial.len() - rest.len();
        if rest.is_empty() {
            release(&mut partial);
        } else {
            partial.drain(..consumed);
        }
        self.partial = partial;
        Verdict::KeepOpen
    }
    fn close_reason(&self) -> &'static str {
        self.close_reason
    }
    fn has_partial(&self) -> bool {
        !self.partial.is_empty() || self.body_to_skip > 0
    }
}
