//! The tokio peer: `tokio` (the current-thread runtime: one thread, like coro-local) and `tokio-mt` (the multi-thread
//! runtime, one worker per core or --threads N), a task per connection (`tokio::spawn`), serving the four workloads
//! with the shared Rust protocol code. `server --backend tokio ...` execs this with the same argv.
//!
//! A connection waits for readiness (`readable().await`) and then reads into its worker thread's scratch buffer with
//! `try_read`, as tokio's own examples do and as the coro back ends do: an idle connection holds no read buffer.
//! Chat readers keep their own 2 KiB buffer instead, because their commands await locks with a line still borrowed.
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tvt_protocol::compute::ComputeSession;
use tvt_protocol::echo::EchoSession;
use tvt_protocol::http::{HttpReplies, HttpSession};
use tvt_protocol::hub::{AfterRead, Hub, Member};
use tvt_protocol::options::{self, Options, Workload};
use tvt_protocol::process::{self, Acceptor};
use tvt_protocol::{close_after_reply, release, Session, Verdict};

/// Reads and replies bigger than this do not stay allocated in a worker's scratch (memory after a burst).
const SCRATCH_KEEP_BYTES: usize = 64 * 1024;

struct Scratch {
    input: Vec<u8>,
    out: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch { input: vec![0; SCRATCH_KEEP_BYTES], out: Vec::new() });
}

fn main() {
    let options = options::parse_or_exit(&["tokio", "tokio-mt"]);
    process::prepare();
    let runtime = if options.backend == "tokio-mt" {
        tokio::runtime::Builder::new_multi_thread().worker_threads(options.worker_threads()).enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    };
    let runtime = runtime.unwrap_or_else(|e| {
        eprintln!("server: cannot start the tokio runtime: {}", e);
        std::process::exit(1);
    });
    let listener = process::listen_and_announce_or_exit(&options);
    runtime.block_on(serve(listener, options));
}

async fn serve(listener: std::net::TcpListener, options: Options) {
    let listener = TcpListener::from_std(listener).unwrap_or_else(|e| {
        eprintln!("server: {}", e);
        std::process::exit(1);
    });
    let idle = options.idle_timeout;
    let limits = options.limits;
    match options.workload {
        Workload::Chat => {
            let hub = Arc::new(Hub::new(&limits));
            accept_loop(&listener, |s| drop(tokio::spawn(serve_chat(s, hub.clone(), idle)))).await
        }
        Workload::Http => {
            let replies = Arc::new(HttpReplies::new(&limits));
            accept_loop(&listener, |s| drop(tokio::spawn(serve_connection(s, HttpSession::new(replies.clone()), idle))))
                .await
        }
        Workload::Echo => {
            accept_loop(&listener, |s| drop(tokio::spawn(serve_connection(s, EchoSession::new(&limits), idle)))).await
        }
        Workload::Compute => {
            accept_loop(&listener, |s| drop(tokio::spawn(serve_connection(s, ComputeSession::new(&limits), idle))))
                .await
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
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// `f`, failing with TimedOut after `limit` (None = no limit). The timer is boxed: tokio's timer entry is 128-byte
/// aligned and large, and held inline it would sit in every connection's future (1.6 KiB of it measured) whether or
/// not an idle timeout is configured; boxed, only the connections of a server run with one pay for it.
async fn timed<T>(limit: Option<Duration>, f: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    match limit {
        None => f.await,
        Some(d) => Box::pin(tokio::time::timeout(d, f)).await.unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
    }
}

/// Writes all of `buf`; a peer that takes no byte for `idle` is shed like an idle one.
async fn write_all_timed(stream: &TcpStream, mut buf: &[u8], idle: Option<Duration>) -> io::Result<()> {
    while !buf.is_empty() {
        timed(idle, stream.writable()).await?;
        match stream.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[derive(PartialEq, Eq)]
enum Progress {
    WouldBlock,
    PeerClosed,
    Served,
    ServedThenClose,
}

/// One read into the thread's scratch, its replies written at once; what the socket did not take goes to `unsent`.
fn serve_available<S: Session>(stream: &TcpStream, session: &mut S, unsent: &mut Vec<u8>) -> io::Result<Progress> {
    SCRATCH.with(|scratch| {
        let scratch = &mut *scratch.borrow_mut();
        let n = match stream.try_read(&mut scratch.input) {
            Ok(0) => return Ok(Progress::PeerClosed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::WouldBlock),
            Err(e) => return Err(e),
        };
        scratch.out.clear();
        let verdict = session.consume(&scratch.input[..n], &mut scratch.out);
        if !scratch.out.is_empty() {
            let sent = match stream.try_write(&scratch.out) {
                Ok(sent) => sent,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            };
            unsent.extend_from_slice(&scratch.out[sent..]);
        }
        if scratch.out.capacity() > SCRATCH_KEEP_BYTES {
            release(&mut scratch.out);
        }
        Ok(if verdict == Verdict::Close { Progress::ServedThenClose } else { Progress::Served })
    })
}

/// One connection of echo, http or compute, until the peer closes, the session says close, or a timeout.
async fn serve_connection<S: Session>(stream: TcpStream, mut session: S, idle: Option<Duration>) {
    let mut deadline = tvt_protocol::deadline::PartialRequestDeadline::default();
    let mut unsent = Vec::new(); // reply bytes the socket did not take at once; empty (no heap) otherwise
    let result: io::Result<()> = async {
        loop {
            timed(idle, stream.readable()).await?;
            let progress = serve_available(&stream, &mut session, &mut unsent)?;
            match progress {
                Progress::WouldBlock => continue,
                Progress::PeerClosed => return Ok(()),
                Progress::Served | Progress::ServedThenClose => {}
            }
            if !unsent.is_empty() {
                write_all_timed(&stream, &unsent, idle).await?;
                release(&mut unsent);
            }
            let verdict = if progress == Progress::ServedThenClose { Verdict::Close } else { Verdict::KeepOpen };
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

/// Reads what is there (0 = the peer closed); waiting longer than `idle` fails with TimedOut.
async fn read_timed(stream: &TcpStream, buf: &mut [u8], idle: Option<Duration>) -> io::Result<usize> {
    loop {
        timed(idle, stream.readable()).await?;
        match stream.try_read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}

/// Chat: this task reads and runs the member's commands, a writer task drains its outbox (hub.rs).
async fn serve_chat(stream: TcpStream, hub: Arc<Hub>, idle: Option<Duration>) {
    let stream = Arc::new(stream);
    let mut connection = hub.connect();
    let writer = tokio::spawn(write_loop(stream.clone(), connection.member.clone(), idle));
    let mut buffer = [0u8; 2048];
    let mut server_closes = false;
    loop {
        let n = match read_timed(&stream, &mut buffer, idle).await {
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
        process::shutdown_both(&*stream); // a writer stuck on a peer that never reads returns now
    }
    let _ = writer.await;
}

/// Drains the member's outbox until the reader is done and all is sent, or a send fails or times out.
async fn write_loop(stream: Arc<TcpStream>, member: Arc<Member>, idle: Option<Duration>) {
    let mut sending = Vec::new();
    while member.next_to_send(&mut sending).await {
        if let Err(e) = write_all_timed(&stream, &sending, idle).await {
            process::log_unusual_end("chat writer", &e);
            member.writer_failed();
            process::shutdown_both(&*stream); // ends the reader's wait too
            return;
        }
        member.finish_send(&mut sending);
    }
}
