//! bench_micro_rust: what one tokio or async-std task costs, in the names, counters and JSON format of bench/micro's
//! Google Benchmark executables, so that bench_all merges these rows into micro.json/micro.csv beside our models.
//! Models: `tokio` (current-thread runtime), `tokio-mt` (multi-thread, one worker per core), `async-std` (its global
//! executor, one worker per core, tasks started with `task::spawn` from `block_on`).
//!
//! Measures, per model (the C++ benchmarks' definitions, bench/micro/README.md):
//! - BM_SpawnJoin: one empty task spawned and awaited, 1,000 in a row -> ns_per_unit.
//! - BM_SpawnMany/units:10000: 10,000 empty tasks spawned, then all awaited -> ns_per_unit.
//! - BM_Yield/units:2|100|10000: 200,000 yield_now() in all, tasks spawned parked on a gate first (not timed) ->
//!   ns_per_yield.
//! - BM_ParkedMemory/units:10000|100000|1000000: N tasks each parked on one shared gate (tokio: a closed-to-open
//!   Semaphore; async-std: a channel whose sender is dropped to open) -> rss_per_unit_bytes = (RSS with N parked - RSS
//!   before) / N; total_per_unit_bytes is the same figure (a task has no kernel stack or page-table cost of its own).
//! - BM_ParkedOnChannel/tasks:1000000: N tasks parked sending into a full capacity-1 channel of the runtime's own
//!   (as bench_micro_coro's row) -> bytes_per_task.
//! Every sample runs in a fresh forked child (no runtime exists in the parent), so no sample reuses memory an earlier
//! one freed and no runtime's threads outlive their benchmark. Times are the phase only (manual time), measured in
//! the child; the runtime's start-up is not charged.
//! Does not measure: tasks that hold buffers, I/O, contention from other processes (the machine is shared: prefer the
//! memory figures and same-run ratios).
//!
//! Flags (the subset of Google Benchmark's that bench_all and the README use): --benchmark_out=FILE,
//! --benchmark_out_format=json, --benchmark_format=json|console, --benchmark_repetitions=N, --benchmark_min_time=S,
//! --benchmark_filter=A|B (substrings, '|' separated; '^', '$' and '.*' are ignored), --smoke (tiny sizes, for ctest).
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Model {
    Tokio,
    TokioMt,
    AsyncStd,
}

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Tokio => "tokio",
            Model::TokioMt => "tokio-mt",
            Model::AsyncStd => "async-std",
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    SpawnJoin { units: usize },
    SpawnMany { units: usize },
    Yield { units: usize, yields_each: usize },
    ParkedMemory { units: usize },
    ParkedOnChannel { tasks: usize },
}

/// What one run of a phase reports: its time, and the resident bytes it added (memory phases).
#[derive(Clone, Copy, Default)]
struct Sample {
    elapsed_ns: f64,
    rss_delta_bytes: f64,
}

struct Benchmark {
    name: String,
    model: Model,
    phase: Phase,
    /// Memory phases run exactly once per repetition (Google Benchmark's Iterations(1)).
    fixed_iteration: bool,
}

fn rss_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64
}

fn tokio_runtime(model: Model) -> tokio::runtime::Runtime {
    let built = if model == Model::TokioMt {
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).build()
    } else {
        tokio::runtime::Builder::new_current_thread().build()
    };
    built.expect("tokio runtime")
}

// ---------------------------------------------------------------------------------------------------------- tokio

fn run_tokio(rt: &tokio::runtime::Runtime, phase: Phase) -> Sample {
    rt.block_on(async move {
        match phase {
            Phase::SpawnJoin { units } => {
                let start = Instant::now();
                for _ in 0..units {
                    tokio::spawn(async {}).await.expect("join");
                }
                Sample { elapsed_ns: start.elapsed().as_nanos() as f64, ..Sample::default() }
            }
            Phase::SpawnMany { units } => {
                let start = Instant::now();
                let handles: Vec<_> = (0..units).map(|_| tokio::spawn(async {})).collect();
                for h in handles {
                    h.await.expect("join");
                }
                Sample { elapsed_ns: start.elapsed().as_nanos() as f64, ..Sample::default() }
            }
            Phase::Yield { units, yields_each } => {
                let gate = Arc::new(tokio::sync::Semaphore::new(0));
                let all_parked = Arc::new(tokio::sync::Notify::new());
                let count = Arc::new(AtomicUsize::new(0));
                let handles: Vec<_> = (0..units)
                    .map(|_| {
                        let (gate, all_parked, count) = (gate.clone(), all_parked.clone(), count.clone());
                        tokio::spawn(async move {
                            // AcqRel: the task that brings the count to `units` notifies after everyone's increment.
                            if count.fetch_add(1, Ordering::AcqRel) + 1 == units {
                                all_parked.notify_one(); // stores a permit if the root is not waiting yet
                            }
                            let _ = gate.acquire().await; // Err(closed) = the gate opened
                            for _ in 0..yields_each {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                all_parked.notified().await;
                let start = Instant::now();
                gate.close();
                for h in handles {
                    h.await.expect("join");
                }
                Sample { elapsed_ns: start.elapsed().as_nanos() as f64, ..Sample::default() }
            }
            Phase::ParkedMemory { units } => {
                let gate = Arc::new(tokio::sync::Semaphore::new(0));
                let all_parked = Arc::new(tokio::sync::Notify::new());
                let count = Arc::new(AtomicUsize::new(0));
                let before = rss_bytes();
                let start = Instant::now();
                let mut handles = Vec::with_capacity(units);
                for _ in 0..units {
                    let (gate, all_parked, count) = (gate.clone(), all_parked.clone(), count.clone());
                    handles.push(tokio::spawn(async move {
                        if count.fetch_add(1, Ordering::AcqRel) + 1 == units {
                            all_parked.notify_one();
                        }
                        let _ = gate.acquire().await;
                    }));
                }
                all_parked.notified().await;
                let elapsed_ns = start.elapsed().as_nanos() as f64;
                let rss_delta_bytes = rss_bytes() - before;
                gate.close();
                for h in handles {
                    h.await.expect("join");
                }
                Sample { elapsed_ns, rss_delta_bytes }
            }
            Phase::ParkedOnChannel { tasks } => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<i32>(1);
                tx.send(0).await.expect("send"); // full: every sender below parks
                let all_parked = Arc::new(tokio::sync::Notify::new());
                let count = Arc::new(AtomicUsize::new(0));
                let before = rss_bytes();
                let start = Instant::now();
                let mut handles = Vec::with_capacity(tasks);
                for _ in 0..tasks {
                    let (tx, all_parked, count) = (tx.clone(), all_parked.clone(), count.clone());
                    handles.push(tokio::spawn(async move {
                        if count.fetch_add(1, Ordering::AcqRel) + 1 == tasks {
                            all_parked.notify_one();
                        }
                        let _ = tx.send(1).await;
                    }));
                }
                all_parked.notified().await;
                let elapsed_ns = start.elapsed().as_nanos() as f64;
                let rss_delta_bytes = rss_bytes() - before;
                drop(tx);
                for _ in 0..=tasks {
                    rx.recv().await;
                }
                for h in handles {
                    h.await.expect("join");
                }
                Sample { elapsed_ns, rss_delta_bytes }
            }
        }
    })
}

// ------------------------------------------------------------------------------------------------------ async-std

fn run_async_std(phase: Phase) -> Sample {
    use async_std::channel;
    use async_std::task;
    task::block_on(async move {
        match phase {
            Phase::SpawnJoin { units } => {
                let start = Instant::now();
                for _ in 0..units {
                    task::spawn(async {}).await;
                }
                Sample { elapsed_ns: start.elapsed().as_nanos() as f64, ..Sample::default() }
            }
            Phase::SpawnMany { units } => {
                let start = Instant::now();
                let handles: Vec<_> = (0..units).map(|_| task::spawn(async {})).collect();
                for h in handles {
                    h.await;
                }
                Sample { elapsed_ns: start.elapsed().as_nanos() as f64, ..Sample::default() }
            }
            Phase::Yield { units, yields_each } => {
                // The gate: a channel nobody sends on; dropping its sender wakes every receiver.
                let (open, gate) = channel::bounded::<()>(1);
                let (parked_tx, parked_rx) = channel::bounded::<()>(1);
                let count = Arc::new(AtomicUsize::new(0));
                let handles: Vec<_> = (0..units)
                    .map(|_| {
                        let (gate, parked_tx, count) = (gate.clone(), parked_tx.clone(), count.clone());
                        task::spawn(async move {
                            if count.fetch_add(1, Ordering::AcqRel) + 1 == units {
                                let _ = parked_tx.try_send(());
                            }
                            let _ = gate.recv().await;
                            for _ in 0..yields_each {
                                task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                let _ = parked_rx.recv().await;
                let start = Instant::now();
                drop(open);
                for h in handles {
                    h.await;
                }
                Sample { elapsed_ns: start.elapsed().as_nanos() as f64, ..Sample::default() }
            }
            Phase::ParkedMemory { units } => {
                let (open, gate) = channel::bounded::<()>(1);
                let (parked_tx, parked_rx) = channel::bounded::<()>(1);
                let count = Arc::new(AtomicUsize::new(0));
                let before = rss_bytes();
                let start = Instant::now();
                let mut handles = Vec::with_capacity(units);
                for _ in 0..units {
                    let (gate, parked_tx, count) = (gate.clone(), parked_tx.clone(), count.clone());
                    handles.push(task::spawn(async move {
                        if count.fetch_add(1, Ordering::AcqRel) + 1 == units {
                            let _ = parked_tx.try_send(());
                        }
                        let _ = gate.recv().await;
                    }));
                }
                let _ = parked_rx.recv().await;
                let elapsed_ns = start.elapsed().as_nanos() as f64;
                let rss_delta_bytes = rss_bytes() - before;
                drop(open);
                for h in handles {
                    h.await;
                }
                Sample { elapsed_ns, rss_delta_bytes }
            }
            Phase::ParkedOnChannel { tasks } => {
                let (tx, rx) = channel::bounded::<i32>(1);
                tx.send(0).await.expect("send"); // full: every sender below parks
                let (parked_tx, parked_rx) = channel::bounded::<()>(1);
                let count = Arc::new(AtomicUsize::new(0));
                let before = rss_bytes();
                let start = Instant::now();
                let mut handles = Vec::with_capacity(tasks);
                for _ in 0..tasks {
                    let (tx, parked_tx, count) = (tx.clone(), parked_tx.clone(), count.clone());
                    handles.push(task::spawn(async move {
                        if count.fetch_add(1, Ordering::AcqRel) + 1 == tasks {
                            let _ = parked_tx.try_send(());
                        }
                        let _ = tx.send(1).await;
                    }));
                }
                let _ = parked_rx.recv().await;
                let elapsed_ns = start.elapsed().as_nanos() as f64;
                let rss_delta_bytes = rss_bytes() - before;
                drop(tx);
                for _ in 0..=tasks {
                    let _ = rx.recv().await;
                }
                for h in handles {
                    h.await;
                }
                Sample { elapsed_ns, rss_delta_bytes }
            }
        }
    })
}

// ------------------------------------------------------------------------------------------------- the driver

/// Runs `phase` in a fresh child: repeatedly until `min_time` has passed (once for memory phases). Returns the
/// iterations, the mean sample and the child's CPU time per iteration, or why it failed.
fn in_child(b: &Benchmark, min_time: Duration) -> Result<(u64, Sample, f64), String> {
    let mut fds = [0; 2];
    // SAFETY: pipe and fork with no runtime (so no other thread) in this process; the child only runs the phase,
    // writes its result and _exits.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err("pipe failed".into());
        }
        let pid = libc::fork();
        if pid < 0 {
            return Err("fork failed".into());
        }
        if pid == 0 {
            libc::close(fds[0]);
            libc::alarm(phase_timeout_s()); // a hung runtime dies by SIGALRM and is reported, not waited for
            let result = child_measure(b, min_time);
            let bytes: Vec<u8> = result.iter().flat_map(|v| v.to_ne_bytes()).collect();
            libc::write(fds[1], bytes.as_ptr().cast(), bytes.len());
            libc::_exit(0);
        }
        libc::close(fds[1]);
        let mut buf = [0u8; 40];
        let mut got = 0usize;
        while got < buf.len() {
            let n = libc::read(fds[0], buf[got..].as_mut_ptr().cast(), buf.len() - got);
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        libc::close(fds[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        if got != buf.len() {
            return Err(if libc::WIFSIGNALED(status) {
                format!("child died by signal {}", libc::WTERMSIG(status))
            } else {
                "child failed".into()
            });
        }
        let v: Vec<f64> = buf.chunks(8).map(|c| f64::from_ne_bytes(c.try_into().expect("8 bytes"))).collect();
        Ok((v[0] as u64, Sample { elapsed_ns: v[1], rss_delta_bytes: v[2] }, v[3]))
    }
}

fn phase_timeout_s() -> u32 {
    std::env::var("TVT_MICRO_PHASE_TIMEOUT_S").ok().and_then(|s| s.parse().ok()).filter(|&s| s > 0).unwrap_or(120)
}

fn cpu_time_ns() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// [iterations, mean elapsed ns, mean rss delta, cpu ns per iteration, 1 = ok]
fn child_measure(b: &Benchmark, min_time: Duration) -> [f64; 5] {
    let tokio_rt = (b.model != Model::AsyncStd).then(|| tokio_runtime(b.model));
    let run = || match &tokio_rt {
        Some(rt) => run_tokio(rt, b.phase),
        None => run_async_std(b.phase),
    };
    if !b.fixed_iteration {
        run(); // once untimed: pools and queues warm, as bench/micro does
    }
    let cpu_start = cpu_time_ns();
    let (mut iterations, mut total) = (0u64, Sample::default());
    loop {
        let s = run();
        iterations += 1;
        total.elapsed_ns += s.elapsed_ns;
        total.rss_delta_bytes += s.rss_delta_bytes;
        if b.fixed_iteration || total.elapsed_ns >= min_time.as_nanos() as f64 {
            break;
        }
    }
    let n = iterations as f64;
    [n, total.elapsed_ns / n, total.rss_delta_bytes / n, (cpu_time_ns() - cpu_start) / n, 1.0]
}

fn benchmarks(smoke: bool) -> Vec<Benchmark> {
    let size = |full: usize, small: usize| if smoke { small } else { full };
    let mut list = Vec::new();
    for model in [Model::Tokio, Model::TokioMt, Model::AsyncStd] {
        let m = model.name();
        let mut add = |name: String, phase, fixed_iteration| {
            list.push(Benchmark { name, model, phase, fixed_iteration })
        };
        add(format!("BM_SpawnJoin/model:{}/manual_time", m), Phase::SpawnJoin { units: size(1_000, 10) }, false);
        let many = size(10_000, 100);
        add(format!("BM_SpawnMany/model:{}/units:{}/manual_time", m, many), Phase::SpawnMany { units: many }, false);
        let total_yields = size(200_000, 200);
        for units in [2, 100, size(10_000, 20)] {
            let phase = Phase::Yield { units, yields_each: (total_yields / units).max(1) };
            add(format!("BM_Yield/model:{}/units:{}/manual_time", m, units), phase, false);
        }
        for units in [size(10_000, 100), size(100_000, 1_000), size(1_000_000, 10_000)] {
            let name = format!("BM_ParkedMemory/model:{}/units:{}/iterations:1/manual_time", m, units);
            add(name, Phase::ParkedMemory { units }, true);
        }
        let tasks = size(1_000_000, 10_000);
        let name = format!("BM_ParkedOnChannel/model:{}/tasks:{}/iterations:1/repeats:1", m, tasks);
        add(name, Phase::ParkedOnChannel { tasks }, true);
    }
    list
}

/// One benchmark row's counters, as Google Benchmark names them for the C++ twins.
fn counters(b: &Benchmark, s: &Sample) -> Vec<(&'static str, f64)> {
    match b.phase {
        Phase::SpawnJoin { units } | Phase::SpawnMany { units } => vec![("ns_per_unit", s.elapsed_ns / units as f64)],
        Phase::Yield { units, yields_each } => vec![("ns_per_yield", s.elapsed_ns / (units * yields_each) as f64)],
        Phase::ParkedMemory { units } => {
            let per = s.rss_delta_bytes / units as f64;
            vec![("rss_per_unit_bytes", per), ("total_per_unit_bytes", per)]
        }
        Phase::ParkedOnChannel { tasks } => vec![("bytes_per_task", s.rss_delta_bytes / tasks as f64)],
    }
}

struct Row {
    json: String,
    console: String,
}

fn row(
    b: &Benchmark,
    family: usize,
    rep: (usize, usize),
    iterations: u64,
    s: &Sample,
    cpu_ns: f64,
    err: Option<&str>,
) -> Row {
    let mut json = format!(
        "{{\"name\": \"{n}\", \"family_index\": {f}, \"per_family_instance_index\": 0, \"run_name\": \"{n}\", \
         \"run_type\": \"iteration\", \"repetitions\": {r}, \"repetition_index\": {i}, \"threads\": 1, \
         \"iterations\": {it}, \"real_time\": {rt:e}, \"cpu_time\": {ct:e}, \"time_unit\": \"ns\"",
        n = b.name,
        f = family,
        r = rep.1,
        i = rep.0,
        it = iterations,
        rt = s.elapsed_ns,
        ct = cpu_ns
    );
    let mut console = format!("{:<70} {:>14.0} ns", b.name, s.elapsed_ns);
    match err {
        Some(e) => {
            json.push_str(&format!(", \"error_occurred\": true, \"error_message\": \"{}\"", e.replace('"', "'")));
            console.push_str(&format!(" ERROR: {}", e));
        }
        None => {
            for (k, v) in counters(b, s) {
                json.push_str(&format!(", \"{}\": {:e}", k, v));
                console.push_str(&format!(" {}={:.1}", k, v));
            }
        }
    }
    json.push('}');
    Row { json, console }
}

fn aggregate_rows(b: &Benchmark, family: usize, samples: &[(u64, Sample, f64)]) -> Vec<String> {
    let n = samples.len() as f64;
    let stat = |f: &dyn Fn(&(u64, Sample, f64)) -> f64| -> (f64, f64, f64) {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let mean = v.iter().sum::<f64>() / n;
        let median = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        (mean, median, var.sqrt())
    };
    let time = stat(&|s| s.1.elapsed_ns);
    let cpu = stat(&|s| s.2);
    let counter_names: Vec<&str> = counters(b, &samples[0].1).iter().map(|(k, _)| *k).collect();
    let counter_stats: Vec<(f64, f64, f64)> =
        (0..counter_names.len()).map(|i| stat(&|s| counters(b, &s.1)[i].1)).collect();
    let mut rows = Vec::new();
    for (which, pick) in [("mean", 0usize), ("median", 1), ("stddev", 2)] {
        let get = |t: (f64, f64, f64)| [t.0, t.1, t.2][pick];
        let mut json = format!(
            "{{\"name\": \"{n}_{w}\", \"family_index\": {f}, \"per_family_instance_index\": 0, \"run_name\": \"{n}\", \
             \"run_type\": \"aggregate\", \"repetitions\": {r}, \"threads\": 1, \"aggregate_name\": \"{w}\", \
             \"aggregate_unit\": \"time\", \"iterations\": {r}, \"real_time\": {rt:e}, \"cpu_time\": {ct:e}, \
             \"time_unit\": \"ns\"",
            n = b.name,
            w = which,
            f = family,
            r = samples.len(),
            rt = get(time),
            ct = get(cpu)
        );
        for (k, t) in counter_names.iter().zip(&counter_stats) {
            json.push_str(&format!(", \"{}\": {:e}", k, get(*t)));
        }
        json.push('}');
        rows.push(json);
    }
    rows
}

fn matches_filter(name: &str, filter: &str) -> bool {
    filter.is_empty()
        || filter.split('|').any(|alt| {
            let alt = alt.replace(".*", "").replace(['^', '$', '(', ')'], "");
            name.contains(&alt)
        })
}

fn context_json() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    // SAFETY: time(NULL) has no preconditions.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    format!(
        "{{\"date\": \"@{}\", \"host_name\": \"{}\", \"executable\": \"{}\", \"num_cpus\": {}, \"mhz_per_cpu\": 0, \
         \"cpu_scaling_enabled\": false, \"caches\": [], \"load_avg\": [{}], \"library_build_type\": \"release\"}}",
        now,
        host.trim(),
        exe,
        cpus,
        load.join(", ")
    )
}

fn main() {
    let mut out_file = None;
    let mut stdout_json = false;
    let mut repetitions = 1usize;
    let mut min_time = Duration::from_millis(200);
    let mut filter = String::new();
    let mut smoke = false;
    for arg in std::env::args().skip(1) {
        let (k, v) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        match k {
            "--benchmark_out" => out_file = Some(v.to_owned()),
            "--benchmark_out_format" if v == "json" => {}
            "--benchmark_format" => stdout_json = v == "json",
            "--benchmark_repetitions" => repetitions = v.parse().unwrap_or(1).max(1),
            "--benchmark_min_time" => {
                min_time = Duration::from_secs_f64(v.trim_end_matches('s').parse().unwrap_or(0.2))
            }
            "--benchmark_filter" => filter = v.to_owned(),
            "--smoke" => smoke = true,
            "--benchmark_report_aggregates_only" | "--benchmark_display_aggregates_only" => {}
            _ => {
                eprintln!("bench_micro_rust: unknown flag '{}'", arg);
                std::process::exit(2);
            }
        }
    }
    let mut json_rows = Vec::new();
    let mut failed = false;
    for (family, b) in benchmarks(smoke).iter().enumerate() {
        if !matches_filter(&b.name, &filter) {
            continue;
        }
        let mut samples = Vec::new();
        for rep in 0..repetitions {
            let (rows, ok) = match in_child(b, min_time) {
                Ok((iterations, s, cpu)) => {
                    samples.push((iterations, s, cpu));
                    (row(b, family, (rep, repetitions), iterations, &s, cpu, None), true)
                }
                Err(e) => (row(b, family, (rep, repetitions), 0, &Sample::default(), 0.0, Some(&e)), false),
            };
            failed |= !ok;
            if !stdout_json {
                println!("{}", rows.console);
            }
            json_rows.push(rows.json);
        }
        if repetitions > 1 && samples.len() == repetitions {
            json_rows.extend(aggregate_rows(b, family, &samples));
        }
    }
    let document = format!(
        "{{\n  \"context\": {},\n  \"benchmarks\": [\n    {}\n  ]\n}}\n",
        context_json(),
        json_rows.join(",\n    ")
    );
    if stdout_json {
        print!("{}", document);
    }
    if let Some(path) = out_file {
        let tmp = format!("{}.tmp", path);
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(document.as_bytes()))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            eprintln!("bench_micro_rust: {}: {}", path, e);
            std::process::exit(1);
        }
    }
    std::process::exit(if failed { 1 } else { 0 });
}
