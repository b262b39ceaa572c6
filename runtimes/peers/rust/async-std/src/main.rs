//! The async-std peer (the seed's runtime): `task::spawn` per connection on async-std's global executor (one worker
//! per core, or --threads N through ASYNC_STD_THREAD_COUNT), serving the four workloads with the shared Rust protocol
//! code; chat as the seed builds it, a reader task and a writer task per member around the async-mutex hub (hub.rs).
//! `server --backend async-std ...` execs this with the same argv.
//!
//! async-std offers no readiness wait on a TcpStream, so a connection reads the way its documentation does, with
//! `read(&mut buf).await` into a buffer of its own (2 KiB, the size the coro chat reader keeps).
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use async_std::net::{TcpListener, TcpStream};
use async_std::prelude::*;
use async_std::task;
use tvt_protocol::chat_outbox::KEEP_BYTES;
use tvt_protocol::compute::ComputeSession;
use tvt_protocol::echo::EchoSession;
use tvt_protocol::http::{HttpReplies, HttpSession};
use tvt_protocol::hub::{AfterRead, Hub, Member};
use tvt_protocol::options::{self, Options, Workload};
use tvt_protocol::process::{self, Acceptor};
use tvt_protocol::{close_after_reply, release, Session};

const READ_BUFFER_BYTES: usize = 2048;

fn main() {
    let options = options::parse_or_exit(&["async-std"]);
    if options.threads != 0 {
        // Read once, when the global executor starts (the first spawn), so set before anything is spawned.
        std::env::set_var("ASYNC_STD_THREAD_COUNT", options.threads.to_string());
    }
    process::prepare();
    let listener = process::listen_and_announce_or_exit(&options);
    task::block_on(serve(listener, options));
}

async fn serve(listener: std::net::TcpListener, options: Options) {
    let listener = TcpListener::from(listener);
    let idle = options.idle_timeout;
    let limits = options.limits;
    match options.workload {
        Workload::Chat => {
            let hub = Arc::new(Hub::new(&limits));
            accept_loop(&listener, |s| drop(task::spawn(serve_chat(s, hub.clone(), idle)))).await
        }
        Workload::Http => {
            let replies = Arc::new(HttpReplies::new(&limits));
            accept_loop(&listener, |s| drop(task::spawn(serve_connection(s, HttpSession::new(replies.clone()), idle))))
                .await
        }
        Workload::Echo => {
            accept_loop(&listener, |s| drop(task::spawn(serve_connection(s, EchoSession::new(&limits), idle)))).await
        }
        Workload::Compute => {
            accept_loop(&listener, |s| drop(task::spawn(serve_connection(s, ComputeSession::new(&limits), idle)))).await
        }
    }
}

/// Accepts until the process is stopped; out of descriptors, it sheds instead of spinning (process::Acceptor).
async fn accept_loop(listener: &TcpListener, mut on_connection: impl FnMut(TcpStream)) {
    let mut acceptor = Acceptor::default();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true); // as net::TcpStream does for every back end
                on_connection(stream);
            }
            Err(e) => {
                if let Some(wait) = acceptor.on_error(listener, &e) {
                    task::sleep(wait).await;
                }
            }
        }
    }
}

/// `f`, failing with TimedOut after `limit` (None = no limit). The timer is boxed, as in the tokio peer, so that only
/// the connections of a server run with an idle timeout hold one.
async fn timed<T>(limit: Option<Duration>, f: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    match limit {
        None => f.await,
        Some(d) => Box::pin(async_std::io::timeout(d, f)).await,
    }
}

/// Writes all of `buf`; a peer that takes no byte for `idle` is shed like an idle one.
async fn write_all_timed(stream: &mut TcpStream, mut buf: &[u8], idle: Option<Duration>) -> io::Result<()> {
    while !buf.is_empty() {
        match timed(idle, stream.write(buf)).await? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// One connection of echo, http or compute, until the peer closes, the session says close, or a timeout.
async fn serve_connection<S: Session>(mut stream: TcpStream, mut session: S, idle: Option<Duration>) {
    let mut deadline = tvt_protocol::deadline::PartialRequestDeadline::default();
    let mut buffer = [0u8; READ_BUFFER_BYTES];
    let mut out = Vec::new(); // replies of one read; small, or released once sent
    let result: io::Result<()> = async {
        loop {
            let n = timed(idle, stream.read(&mut buffer)).await?;
            if n == 0 {
                return Ok(());
            }
            let verdict = session.consume(&buffer[..n], &mut out);
            if !out.is_empty() {
                write_all_timed(&mut stream, &out, idle).await?;
                out.clear();
                if out.capacity() > KEEP_BYTES {
                    release(&mut out);
                }
            }
            if close_after_reply(&session, verdict, &mut deadline, idle) {
                return Ok(());
            }
        }
    }
    .await;
    if let Err(e) = result {
        process::log_unusual_end("connection error", &e);
    }
}

/// Chat: this task reads and runs the member's commands, a writer task drains its outbox (hub.rs).
async fn serve_chat(mut stream: TcpStream, hub: Arc<Hub>, idle: Option<Duration>) {
    let mut connection = hub.connect();
    let writer = task::spawn(write_loop(stream.clone(), connection.member.clone(), idle));
    let mut buffer = [0u8; READ_BUFFER_BYTES];
    let mut server_closes = false;
    loop {
        let n = match timed(idle, stream.read(&mut buffer)).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                process::log_unusual_end("chat connection error", &e);
                server_closes = true;
                break;
            }
        };
        if hub.on_read(&mut connection, &buffer[..n], idle).await == AfterRead::Close {
            server_closes = true;
            break;
        }
    }
    hub.disconnect(&mut connection).await;
    if server_closes {
        let _ = stream.shutdown(Shutdown::Both); // a writer stuck on a peer that never reads returns now
    }
    writer.await;
}

/// Drains the member's outbox until the reader is done and all is sent, or a send fails or times out.
async fn write_loop(mut stream: TcpStream, member: Arc<Member>, idle: Option<Duration>) {
    let mut sending = Vec::new();
    while member.next_to_send(&mut sending).await {
        if let Err(e) = write_all_timed(&mut stream, &sending, idle).await {
            process::log_unusual_end("chat writer", &e);
            member.writer_failed();
            let _ = stream.shutdown(Shutdown::Both); // ends the reader's wait too
            return;
        }
        member.finish_send(&mut sending);
    }
}
