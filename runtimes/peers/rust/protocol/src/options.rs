//! The `server` executable's command line (runtimes/server/main.cpp, docs/CONTRACTS.md), parsed by hand: `server
//! --backend B ...` execs a peer with the same argv, so a peer takes every option `server` takes. Options that do not
//! apply to a peer are checked like `server` checks them and then ignored: `--stack-size` (tasks have no stacks of
//! their own) and `--offload` (the peers compute inline, as every back end without spawn_blocking does).
use std::time::Duration;

use crate::Limits;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Echo,
    Http,
    Chat,
    Compute,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub backend: String,
    pub workload: Workload,
    pub host: String,
    pub port: u16,
    /// Idle and partial-request timeout; None = off.
    pub idle_timeout: Option<Duration>,
    /// Worker threads for multi-threaded back ends (0 on the command line = one per core).
    pub threads: usize,
    pub limits: Limits,
    /// A shard of `server --shards N`: the listening socket the supervisor passed (runtimes/server/supervisor.hpp);
    /// --host, --port and --shards are then the supervisor's.
    pub listen_fd: Option<i32>,
}

pub const USAGE: &str = "options: --backend B --workload echo|http|chat|compute [--host H] [--port P] \
[--idle-timeout-ms MS] [--threads N] [--body-size N] [--max-line N] [--chat-outbox-bytes N] [--max-header-bytes N] \
[--max-header-fields N] [--shards N --listen-fd FD (a shard's socket)] [--stack-size BYTES (ignored)] [--offload (ignored: compute runs inline)]";

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("{}: '{}' is not a valid number", name, value))
}

/// Parses `args` (without the program name). `backends` are the --backend names this executable serves.
pub fn parse<I: IntoIterator<Item = String>>(args: I, backends: &[&str]) -> Result<Options, String> {
    let mut backend = None;
    let mut workload = "http".to_owned();
    let mut host = "127.0.0.1".to_owned();
    let mut port = 0u16;
    let mut idle_ms = 0u64;
    let mut threads = 0usize;
    let mut limits = Limits::default();
    let mut shards = 1u32; // the supervisor's option, passed on to every shard with the rest of its command line
    let mut listen_fd = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline_value) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if name == "--offload" {
            if inline_value.is_some() {
                return Err("--offload takes no value".into());
            }
            continue;
        }
        let mut value = || inline_value.clone().or_else(|| args.next()).ok_or(format!("{} needs a value", name));
        match name.as_str() {
            "--backend" | "-b" => backend = Some(value()?),
            "--workload" | "-w" => workload = value()?,
            "--host" => host = value()?,
            "--port" | "-p" => port = number(&name, &value()?)?,
            "--idle-timeout-ms" => idle_ms = number(&name, &value()?)?,
            "--threads" => threads = number(&name, &value()?)?,
            "--shards" => {
                shards = number(&name, &value()?)?;
                if !(1..=1024).contains(&shards) {
                    return Err("--shards must be in 1..1024".into());
                }
            }
            "--listen-fd" => listen_fd = Some(number::<i32>(&name, &value()?)?).filter(|fd| *fd >= 0),
            "--body-size" => limits.http_body_bytes = number(&name, &value()?)?,
            "--max-line" => limits.max_line_bytes = number(&name, &value()?)?,
            "--max-header-bytes" => limits.max_header_bytes = number(&name, &value()?)?,
            "--max-header-fields" => limits.max_header_fields = number(&name, &value()?)?,
            "--chat-outbox-bytes" => {
                limits.chat_outbox_bytes = number(&name, &value()?)?;
                if !(256..=1 << 30).contains(&limits.chat_outbox_bytes) {
                    return Err("--chat-outbox-bytes must be in 256..1073741824".into());
                }
            }
            "--stack-size" => {
                let bytes: u64 = number(&name, &value()?)?;
                if bytes != 0 && !(64 * 1024..=1 << 30).contains(&bytes) {
                    return Err("--stack-size must be 0 or at least 65536 (and at most 1 GiB)".into());
                }
            }
            _ => return Err(format!("unknown option '{}'", arg)),
        }
    }
    let backend = backend.ok_or("--backend is required")?;
    if !backends.contains(&backend.as_str()) {
        return Err(format!("unknown --backend '{}' (this executable serves: {})", backend, backends.join(", ")));
    }
    let workload = match workload.as_str() {
        "echo" => Workload::Echo,
        "http" => Workload::Http,
        "chat" => Workload::Chat,
        "compute" => Workload::Compute,
        other => return Err(format!("unknown --workload '{}'", other)),
    };
    if shards > 1 && listen_fd.is_none() {
        // server's main starts the supervisor before it execs a peer: a peer sees --shards only with its socket.
        return Err("--shards > 1 needs --listen-fd (run it through `server --shards N`)".into());
    }
    let idle_timeout = if idle_ms > 0 { Some(Duration::from_millis(idle_ms)) } else { None };
    Ok(Options { backend, workload, host, port, idle_timeout, threads, limits, listen_fd })
}

/// `parse` for main(): on bad arguments prints why and the usage to stderr and exits 2, as `server` does.
pub fn parse_or_exit(backends: &[&str]) -> Options {
    let mut args = std::env::args();
    let program = args.next().unwrap_or_else(|| "peer".into());
    match parse(args, backends) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{}: {}\n{}", program, message, USAGE);
            std::process::exit(2);
        }
    }
}

impl Options {
    /// Worker threads for a multi-threaded runtime: --threads, or one per core.
    pub fn worker_threads(&self) -> usize {
        if self.threads != 0 {
            return self.threads;
        }
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    }
}
