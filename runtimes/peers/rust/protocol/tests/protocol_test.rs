//! Table tests of the Rust protocols against the same cases as tests/unit/protocol_test.cpp, chat_test.cpp and
//! compute_test.cpp; every stream case is fed whole, byte by byte and split at every boundary, since TCP may cut it
//! anywhere. The compute digest is checked against the vectors the C++ and Go tests read too.
use std::sync::Arc;

use tvt_protocol::chat::{self, chat_error, parse_chat_line, ChatCommand};
use tvt_protocol::chat_outbox::ChatOutbox;
use tvt_protocol::compute::{compute_digest, parse_compute_line, ComputeSession};
use tvt_protocol::echo::EchoSession;
use tvt_protocol::http::{HttpReplies, HttpSession};
use tvt_protocol::line_splitter::{LineSplitter, Split};
use tvt_protocol::options;
use tvt_protocol::{Limits, Session, Verdict};

fn feed<S: Session>(mut s: S, pieces: &[&[u8]]) -> (Vec<u8>, Verdict) {
    let mut out = Vec::new();
    for piece in pieces {
        if s.consume(piece, &mut out) == Verdict::Close {
            return (out, Verdict::Close);
        }
    }
    (out, Verdict::KeepOpen)
}

fn expect_split_invariant<S: Session>(make: impl Fn() -> S, input: &[u8], expected: (&[u8], Verdict)) {
    let show = |o: &(Vec<u8>, Verdict)| format!("{:?} {:?}", String::from_utf8_lossy(&o.0), o.1);
    let want = (expected.0.to_vec(), expected.1);
    let whole = feed(make(), &[input]);
    assert_eq!(whole, want, "whole: got {} for {:?}", show(&whole), String::from_utf8_lossy(input));
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed(make(), &bytes), want, "byte by byte: {:?}", String::from_utf8_lossy(input));
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        assert_eq!(feed(make(), &[a, b]), want, "cut at {}: {:?}", cut, String::from_utf8_lossy(input));
    }
}

fn small_limits() -> Limits {
    Limits { max_line_bytes: 16, max_header_bytes: 256, max_header_fields: 4, ..Limits::default() }
}

// --- echo -------------------------------------------------------------------------------------------------------

#[test]
fn echo_echoes_each_line_and_holds_an_unfinished_one() {
    let l = small_limits();
    expect_split_invariant(|| EchoSession::new(&l), b"hello\nworld\n", (b"hello\nworld\n", Verdict::KeepOpen));
    expect_split_invariant(|| EchoSession::new(&l), b"\n\n", (b"\n\n", Verdict::KeepOpen));
    let mut s = EchoSession::new(&l);
    let mut out = Vec::new();
    assert_eq!(s.consume(b"abc", &mut out), Verdict::KeepOpen);
    assert!(out.is_empty() && s.has_partial());
    s.consume(b"d\nef", &mut out);
    assert_eq!(out, b"abcd\n");
}

#[test]
fn echo_line_at_the_limit_passes_and_one_over_closes() {
    let l = small_limits();
    let at = [vec![b'a'; 16], b"\n".to_vec()].concat();
    expect_split_invariant(|| EchoSession::new(&l), &at, (&at, Verdict::KeepOpen));
    let over = [b"ok\n".to_vec(), vec![b'x'; 17], b"\n".to_vec()].concat();
    expect_split_invariant(|| EchoSession::new(&l), &over, (b"ok\n", Verdict::Close));
    let mut s = EchoSession::new(&l);
    assert_eq!(s.consume(&[b'y'; 17], &mut Vec::new()), Verdict::Close);
    assert_eq!(s.close_reason(), "echo line over the limit");
}

// --- http -------------------------------------------------------------------------------------------------------

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

fn http() -> (Arc<HttpReplies>, impl Fn() -> HttpSession) {
    let replies = Arc::new(HttpReplies::new(&small_limits()));
    let r = replies.clone();
    (replies, move || HttpSession::new(r.clone()))
}

#[test]
fn http_reply_bytes_are_the_contract() {
    let (r, make) = http();
    expect_split_invariant(
        &make,
        GET,
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!", Verdict::KeepOpen),
    );
    expect_split_invariant(&make, b"HEAD / HTTP/1.1\r\n\r\n", (&r.head_ok, Verdict::KeepOpen));
    assert_eq!(r.head_ok, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n");
    assert_eq!(
        r.header_too_large,
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(r.bad_request, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(
        r.method_not_allowed,
        b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n"
    );
    let big = HttpReplies::new(&Limits { http_body_bytes: 30, ..Limits::default() });
    let text = String::from_utf8(big.ok).unwrap();
    assert!(text.contains("Content-Length: 30\r\n\r\nHello, World!Hello, World!Hell"), "{}", text);
}

#[test]
fn http_pipelining_keep_alive_and_close() {
    let (r, make) = http();
    let pipelined = [GET, b"HEAD /a HTTP/1.1\r\n\r\n", GET].concat();
    let want = [&r.ok[..], &r.head_ok, &r.ok].concat();
    expect_split_invariant(&make, &pipelined, (&want, Verdict::KeepOpen));
    let close = [&b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"[..], GET].concat();
    expect_split_invariant(&make, &close, (&r.ok_close, Verdict::Close));
    expect_split_invariant(&make, b"GET / HTTP/1.0\r\n\r\n", (&r.ok_close, Verdict::Close));
    expect_split_invariant(
        &make,
        b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
        (&r.ok_keep_alive, Verdict::KeepOpen),
    );
    expect_split_invariant(&make, b"GET / HTTP/1.1\nHost: x\n\n", (&r.ok, Verdict::KeepOpen));
    expect_split_invariant(&make, b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", (&r.ok, Verdict::KeepOpen));
}

#[test]
fn http_errors_close_with_their_status() {
    let (r, make) = http();
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET / HTTX/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"G\0T / HTTP/1.1\r\n\r\n",
        b"   \r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
    ] {
        expect_split_invariant(&make, bad, (&r.bad_request, Verdict::Close));
    }
    expect_split_invariant(&make, b"POST / HTTP/1.1\r\n\r\n", (&r.method_not_allowed, Verdict::Close));
    expect_split_invariant(&make, b"GET / HTTP/2.0\r\n\r\n", (&r.version_not_supported, Verdict::Close));
    expect_split_invariant(
        &make,
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        (&r.not_implemented, Verdict::Close),
    );
    let too_big = b"GET / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n";
    expect_split_invariant(&make, too_big, (&r.payload_too_large, Verdict::Close));
}

#[test]
fn http_header_limits_give_431() {
    let (r, make) = http();
    let fields = |n: usize| {
        let mut s = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..n {
            s.extend_from_slice(format!("X-{}: v\r\n", i).as_bytes());
        }
        s.extend_from_slice(b"\r\n");
        s
    };
    expect_split_invariant(&make, &fields(5), (&r.header_too_large, Verdict::Close));
    expect_split_invariant(&make, &fields(4), (&r.ok, Verdict::KeepOpen));
    let no_end = [&b"GET / HTTP/1.1\r\nX: "[..], &[b'a'; 300]].concat();
    expect_split_invariant(&make, &no_end, (&r.header_too_large, Verdict::Close));
    let after_good = [GET, b"GET / HTTP/1.1\r\nX-Big: ", &[b'b'; 300], b"\r\n\r\n"].concat();
    expect_split_invariant(&make, &after_good, (&[&r.ok[..], &r.header_too_large].concat(), Verdict::Close));
}

#[test]
fn http_body_is_skipped_and_idle_session_holds_nothing() {
    let (r, make) = http();
    let with_body = [&b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"[..], GET].concat();
    expect_split_invariant(&make, &with_body, (&[&r.ok[..], &r.ok].concat(), Verdict::KeepOpen));
    let mut s = make();
    let mut out = Vec::new();
    s.consume(b"GET / HT", &mut out);
    assert!(s.has_partial());
    s.consume(b"TP/1.1\r\n\r\n", &mut out);
    assert!(!s.has_partial());
    assert_eq!(out, r.ok);
}

// --- chat -------------------------------------------------------------------------------------------------------

#[test]
fn chat_commands_parse() {
    assert_eq!(parse_chat_line(b"JOIN g-1_A"), ChatCommand::Join("g-1_A"));
    assert_eq!(parse_chat_line(b"LEAVE g"), ChatCommand::Leave("g"));
    assert_eq!(parse_chat_line(b"MSG g 1:2:3"), ChatCommand::Msg("g"));
    assert_eq!(parse_chat_line(b"MSG g "), ChatCommand::Msg("g"));
    assert_eq!(parse_chat_line(b"MSG g \xff\0 x"), ChatCommand::Msg("g"));
    let invalid = |line: &[u8], reason| assert_eq!(parse_chat_line(line), ChatCommand::Invalid(reason), "{:?}", line);
    invalid(b"", chat_error::UNKNOWN_COMMAND);
    invalid(b"JOIN", chat_error::UNKNOWN_COMMAND);
    invalid(b"HELLO g", chat_error::UNKNOWN_COMMAND);
    invalid(b"join g", chat_error::UNKNOWN_COMMAND);
    invalid(b"MSG g", chat_error::MISSING_PAYLOAD);
    invalid(b"JOIN ", chat_error::BAD_GROUP);
    invalid(b"JOIN g\r", chat_error::BAD_GROUP);
    invalid(b"JOIN a b", chat_error::BAD_GROUP);
    invalid(b"MSG b/d x", chat_error::BAD_GROUP);
    assert_eq!(parse_chat_line(&[b"JOIN ".to_vec(), vec![b'g'; 64]].concat()), ChatCommand::Join(&"g".repeat(64)));
    invalid(&[b"JOIN ".to_vec(), vec![b'g'; 65]].concat(), chat_error::BAD_GROUP);
}

#[test]
fn chat_encoders_write_whole_lines() {
    let mut out = Vec::new();
    chat::append_joined(&mut out, "g");
    chat::append_left(&mut out, "g");
    chat::append_error(&mut out, chat_error::NOT_A_MEMBER);
    chat::append_dropped(&mut out, 12);
    chat::append_message(&mut out, b"MSG g x");
    assert_eq!(out, b"JOINED g\nLEFT g\nERR not a member\nDROPPED 12\nMSG g x\n");
}

#[test]
fn line_splitter_copies_only_an_unfinished_line_and_enforces_the_limit() {
    let mut lines = LineSplitter::new(4);
    let mut input: &[u8] = b"ab\ncd";
    assert!(matches!(lines.next(&mut input), Split::Line(b"ab")));
    assert!(matches!(lines.next(&mut input), Split::NeedMore));
    assert!(lines.has_partial());
    let mut input: &[u8] = b"ef\n";
    assert!(matches!(lines.next(&mut input), Split::Line(b"cdef")));
    assert!(!lines.has_partial());
    let mut input: &[u8] = b"abcde";
    assert!(matches!(lines.next(&mut input), Split::TooLong));
    let mut lines = LineSplitter::new(4);
    let mut input: &[u8] = b"abcde\n";
    assert!(matches!(lines.next(&mut input), Split::TooLong));
}

#[test]
fn chat_outbox_drops_what_does_not_fit_and_reports_it() {
    let mut outbox = ChatOutbox::new(20);
    assert!(outbox.offer_message(b"MSG g 0123456")); // 14 bytes
    assert!(!outbox.offer_message(b"MSG g 01")); // 9 more do not fit
    assert!(!outbox.offer_message(b"MSG g 01"));
    let mut sending = Vec::new();
    outbox.start_send(&mut sending);
    assert_eq!(sending, b"MSG g 0123456\n");
    assert!(!outbox.offer_message(b"MSG g 01")); // in flight still counts
    outbox.finish_send(&mut sending);
    assert!(outbox.offer_message(b"MSG g 1")); // "DROPPED 3\n" + "MSG g 1\n" = 18
    outbox.start_send(&mut sending);
    assert_eq!(sending, b"DROPPED 3\nMSG g 1\n");
    assert_eq!(outbox.dropped_total(), 3);
    outbox.finish_send(&mut sending);
    // Replies are never dropped, only reported as over capacity.
    for _ in 0..5 {
        chat::append_joined(outbox.replies(), "group");
    }
    assert!(outbox.over_capacity());
    assert!(outbox.has_queued());
}

#[test]
fn chat_hub_delivers_to_every_member_in_order_between_joined_and_left() {
    use tvt_protocol::hub::{AfterRead, Hub};
    futures_lite::future::block_on(async {
        let hub = Hub::new(&Limits::default());
        let mut a = hub.connect();
        let mut b = hub.connect();
        let idle = None;
        assert_eq!(hub.on_read(&mut a, b"JOIN g\nJOIN g\nMSG h x\n", idle).await, AfterRead::ReadMore);
        assert_eq!(hub.on_read(&mut b, b"JOIN g\nMSG g 1\nNOPE\nMSG g 2", idle).await, AfterRead::ReadMore);
        assert_eq!(hub.on_read(&mut b, b"\nLEAVE g\nLEAVE g\n", idle).await, AfterRead::ReadMore);
        assert_eq!(hub.on_read(&mut a, b"MSG g 3\n", idle).await, AfterRead::ReadMore);
        let mut sent = Vec::new();
        assert!(a.member.next_to_send(&mut sent).await);
        assert_eq!(
            String::from_utf8_lossy(&sent),
            "JOINED g\nJOINED g\nERR not a member\nMSG g 1\nMSG g 2\nMSG g 3\n"
        );
        a.member.finish_send(&mut sent);
        assert!(b.member.next_to_send(&mut sent).await);
        assert_eq!(String::from_utf8_lossy(&sent), "JOINED g\nMSG g 1\nERR unknown command\nMSG g 2\nLEFT g\nLEFT g\n");
        b.member.finish_send(&mut sent);
        hub.disconnect(&mut a).await;
        assert!(!a.member.next_to_send(&mut sent).await, "the writer ends once the reader is done and all is sent");
        let mut too_long = hub.connect();
        let long_line = vec![b'x'; 64 * 1024 + 1];
        assert_eq!(hub.on_read(&mut too_long, &long_line, idle).await, AfterRead::Close);
    });
}

#[test]
fn chat_hub_caps_memberships() {
    use tvt_protocol::hub::Hub;
    futures_lite::future::block_on(async {
        let hub = Hub::new(&Limits::default());
        let mut c = hub.connect();
        let mut input = Vec::new();
        for i in 0..=chat::MAX_GROUPS_PER_CONNECTION {
            input.extend_from_slice(format!("JOIN g{}\n", i).as_bytes());
        }
        hub.on_read(&mut c, &input, None).await;
        let mut sent = Vec::new();
        c.member.next_to_send(&mut sent).await;
        let text = String::from_utf8(sent).unwrap();
        assert_eq!(text.matches("JOINED").count(), chat::MAX_GROUPS_PER_CONNECTION);
        assert!(text.ends_with("ERR too many groups\n"), "{}", text);
    });
}

// --- compute ----------------------------------------------------------------------------------------------------

#[test]
fn compute_digest_matches_the_shared_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../protocol/testdata/compute_vectors.txt");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {}", path, e));
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (kib, hex) = line.split_once(' ').expect("<kib> <hex>");
        let kib: u32 = kib.parse().unwrap();
        assert_eq!(format!("{:016x}", compute_digest(kib)), hex, "compute_digest({})", kib);
        checked += 1;
    }
    assert!(checked >= 10, "only {} vectors in {}", checked, path);
}

#[test]
fn compute_session_answers_digests_and_errors() {
    let l = small_limits();
    let mut want = format!("{:016x}\n{:016x}\n", compute_digest(0), compute_digest(2)).into_bytes();
    want.extend_from_slice(b"ERR kib must be decimal digits\nERR kib out of range\nERR empty request\n");
    expect_split_invariant(|| ComputeSession::new(&l), b"0\n2\n-1\n65537\n\n", (&want, Verdict::KeepOpen));
    expect_split_invariant(|| ComputeSession::new(&l), &[b'1'; 17], (b"", Verdict::Close));
    assert_eq!(parse_compute_line(b"65536"), Ok(65536));
    assert_eq!(parse_compute_line(b"00000000001"), Err("kib out of range"));
    assert_eq!(parse_compute_line(b" 1"), Err("kib must be decimal digits"));
}

// --- options ----------------------------------------------------------------------------------------------------

#[test]
fn options_take_what_server_takes() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let o = options::parse(
        args("--backend tokio-mt --workload chat --port 0 --idle-timeout-ms 1500 --threads 3 --max-line=1024 \
              --chat-outbox-bytes 4096 --stack-size 65536 --offload --body-size 30 --max-header-bytes 100 \
              --max-header-fields 7 --host 127.0.0.1"),
        &["tokio", "tokio-mt"],
    )
    .unwrap();
    assert_eq!(o.workload, options::Workload::Chat);
    assert_eq!(o.idle_timeout, Some(std::time::Duration::from_millis(1500)));
    assert_eq!(o.worker_threads(), 3);
    assert_eq!(
        o.limits,
        Limits {
            max_line_bytes: 1024,
            max_header_bytes: 100,
            max_header_fields: 7,
            http_body_bytes: 30,
            chat_outbox_bytes: 4096
        }
    );
    let shard = options::parse(args("--backend tokio --shards 4 --listen-fd 3"), &["tokio"]).unwrap();
    assert_eq!(shard.listen_fd, Some(3));
    assert_eq!(o.listen_fd, None);
    for bad in [
        "--backend go",
        "--backend tokio --workload nope",
        "--backend tokio --port",
        "--backend tokio --port x",
        "--backend tokio --stack-size 1000",
        "--backend tokio --chat-outbox-bytes 10",
        "--backend tokio --bogus 1",
        "--workload http",
        "--backend tokio --shards 4",
        "--backend tokio --shards 0 --listen-fd 3",
    ] {
        assert!(options::parse(args(bad), &["tokio", "tokio-mt"]).is_err(), "{}", bad);
    }
}
