//! What every peer process does around serving, as runtimes/server/main.cpp does it: stop signals handled on a thread
//! of its own, glibc's mmap threshold pinned, the listening socket, the `ready` line, a rate-limited error log, and
//! the EMFILE-safe accept (runtimes/net/acceptor.cpp).
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socket2::{Domain, Protocol, Socket, Type};

use crate::options::Options;

/// Call first in main(), before any runtime thread exists: blocks SIGINT/SIGTERM so that every thread inherits the
/// mask and only the signal thread sees them; that thread exits the process with status 0 (the kernel closes every
/// connection; nothing a peer holds needs more than that). Also pins glibc's mmap threshold like `server` does, so
/// that large reply buffers go back to the system when freed (hostile suite, ResetMidReply).
pub fn prepare() {
    // SAFETY: plain libc calls on locally owned, initialised values.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut signal = 0;
                while libc::sigwait(&set, &mut signal) != 0 {}
                let _ = io::stdout().flush();
                libc::_exit(0);
            })
            .expect("cannot start the signal thread");
    }
}

/// The listening socket: the one the supervisor passed (a shard), else a new one.
pub fn listener(options: &Options) -> io::Result<TcpListener> {
    match options.listen_fd {
        Some(fd) => inherit(fd),
        None => listen(options),
    }
}

/// A shard's listening socket, inherited as descriptor `fd`, made non-blocking for the runtime's reactor.
fn inherit(fd: RawFd) -> io::Result<TcpListener> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("--listen-fd {}: {}", fd, why));
    // SAFETY: fstat on any integer is harmless; it fails with EBADF on a descriptor this process does not have.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return Err(invalid(&io::Error::last_os_error().to_string()));
    }
    if stat.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(invalid("not a socket"));
    }
    // SAFETY: the descriptor is open, a socket, and owned by nobody else in this process: the supervisor handed it
    // over at exec, and from here on the listener alone closes it.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    listener.set_nonblocking(true)?;
    listener.local_addr().map_err(|e| invalid(&e.to_string()))?;
    Ok(listener)
}

/// The listening socket: SO_REUSEADDR, the largest backlog the kernel allows (as net::listen_tcp), non-blocking.
pub fn listen(options: &Options) -> io::Result<TcpListener> {
    let addr: SocketAddr = (options.host.as_str(), options.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address for --host"))?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(65535)?; // the kernel caps it at net.core.somaxconn
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Prints the one stdout line the harness waits for.
pub fn announce(listener: &TcpListener) -> io::Result<()> {
    let port = listener.local_addr()?.port();
    let mut out = io::stdout().lock();
    writeln!(out, "ready port={} pid={}", port, std::process::id())?;
    out.flush()
}

/// Listens and announces, or exits 1 with the reason on stderr (as `server` does on a start-up failure).
pub fn listen_and_announce_or_exit(options: &Options) -> TcpListener {
    match listener(options).and_then(|l| announce(&l).map(|_| l)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("server: {}", e);
            std::process::exit(1);
        }
    }
}

/// At most a few lines a second to stderr, so that a flood of bad clients cannot turn the log into the bottleneck.
pub fn log_rate_limited(message: &str) {
    static SECOND: AtomicU64 = AtomicU64::new(0);
    static COUNT: AtomicU64 = AtomicU64::new(0);
    const PER_SECOND: u64 = 5;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if SECOND.swap(now, Ordering::Relaxed) != now {
        COUNT.store(0, Ordering::Relaxed);
    }
    if COUNT.fetch_add(1, Ordering::Relaxed) < PER_SECOND {
        eprintln!("server: {}", message);
    }
}

/// True for the errors that end a connection routinely (reset, timeout, broken pipe): not worth a log line.
pub fn is_routine_end(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::TimedOut
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
    )
}

/// Logs how a connection ended (`what`: which side of it), unless the end was routine.
pub fn log_unusual_end(what: &str, error: &io::Error) {
    if !is_routine_end(error) {
        log_rate_limited(&format!("{}: {}", what, error));
    }
}

/// Handles an accept() error so that the accept loop neither dies nor spins. When out of descriptors (EMFILE/ENFILE)
/// the pending connection stays in the backlog and the listener stays readable, so a naive loop burns a core: the
/// acceptor keeps one spare descriptor, frees it, accepts and closes one pending connection (it is shed, the client
/// sees a close), and takes the spare back. Returns how long to wait before accepting again: nothing was pending
/// (accept reserves the descriptor before it looks at the backlog) or the error is not one a retry cures at once.
pub struct Acceptor {
    spare: Option<OwnedFd>,
}

fn open_spare() -> Option<OwnedFd> {
    // SAFETY: open() returns a new descriptor we own, or -1.
    let fd = unsafe { libc::open(b"/dev/null\0".as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    // SAFETY: fd is a fresh descriptor owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Default for Acceptor {
    fn default() -> Self {
        Acceptor { spare: open_spare() }
    }
}

impl Acceptor {
    pub const BACKOFF: Duration = Duration::from_millis(10);

    pub fn on_error(&mut self, listener: &impl AsRawFd, error: &io::Error) -> Option<Duration> {
        match error.raw_os_error() {
            // That client gave up before we accepted it; the next one in the backlog is unaffected.
            Some(libc::ECONNABORTED | libc::EPROTO | libc::EINTR) => None,
            Some(errno @ (libc::EMFILE | libc::ENFILE)) => self.shed(listener.as_raw_fd(), errno),
            _ => {
                log_rate_limited(&format!("accept: {}", error));
                Some(Self::BACKOFF)
            }
        }
    }

    fn shed(&mut self, listen_fd: RawFd, errno: i32) -> Option<Duration> {
        self.spare = None;
        // SAFETY: accept4 on a descriptor the listener owns; the result, if any, is ours and closed at once.
        let pending =
            unsafe { libc::accept4(listen_fd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
        let pending_error = io::Error::last_os_error();
        if pending >= 0 {
            // SAFETY: `pending` is a descriptor accept4 just gave us.
            unsafe { libc::close(pending) };
        }
        self.spare = open_spare();
        if pending >= 0 {
            let which = if errno == libc::EMFILE { "EMFILE" } else { "ENFILE" };
            log_rate_limited(&format!("accept: out of file descriptors ({}); shedding new connections", which));
            return None;
        }
        if pending_error.kind() != io::ErrorKind::WouldBlock {
            log_rate_limited(&format!("accept: out of file descriptors ({}) and no spare to shed with", pending_error));
        }
        Some(Self::BACKOFF)
    }
}

/// shutdown(SHUT_RDWR) on a connection shared by a reader and a writer task: whichever of them is waiting on a peer
/// that never reads or never writes returns at once (a closed socket would not wake it).
pub fn shutdown_both(stream: &impl AsRawFd) {
    // SAFETY: shutdown on a descriptor the caller's stream owns; ENOTCONN (the peer is gone) is fine to ignore.
    unsafe { libc::shutdown(stream.as_raw_fd(), libc::SHUT_RDWR) };
}
