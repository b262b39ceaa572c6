"""The results.csv header: the contract between measuring (bench_all + loadgen) and reporting (charts, report, gate).

Order: backend, profile, then every key of loadgen's JSON record (docs/CONTRACTS.md, in its order, status and reason
last), then the columns only the harness knows. Appending a column is compatible; renaming or reordering one is not
(readers look columns up by name, but people read the CSV too). bench/bench_all/README.md documents each column.
"""

LEADING = ["backend", "profile"]

LOADGEN = [
    "workload", "mode", "targets", "connections", "connections_established", "duration_s", "warmup_s",
    "requests", "rps", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "mean_us",
    "uncorrected_p50_us", "uncorrected_p90_us", "uncorrected_p99_us", "uncorrected_p999_us", "uncorrected_max_us",
    "target_rate", "achieved_rate", "dropped_sends",
    "connect_time_s", "accepts_per_s",
    "errors", "errors_connect", "errors_reset", "errors_timeout", "errors_bad_reply", "errors_closed",
    "server_pid", "server_rss_before_bytes", "server_rss_bytes", "server_pss_bytes", "server_threads", "server_cpu_s",
    "server_fds_idle", "server_fds_peak", "server_fds_after", "fd_leak",
    "rss_per_conn_bytes", "pss_per_conn_bytes", "pte_per_conn_bytes",
    "kernel_stack_per_conn_bytes", "page_tables_per_conn_bytes", "slab_per_conn_bytes", "sock_mem_per_conn_bytes",
    "kernel_per_conn_bytes", "total_per_conn_bytes",
    "deliveries", "deliveries_per_s", "lost", "duplicated", "dropped_by_policy",
    "small_requests", "small_p50_us", "small_p99_us", "small_p999_us", "large_requests", "large_p99_us",
    "server_cpu_us_per_op", "server_cpu_util", "client_cpu_util", "bound",
    "syscalls_per_op", "ctx_switches_per_op", "waits_per_op", "instructions_per_op", "cost_note",
    "late_sends", "worst_lateness_us", "arrivals", "arrivals_fit_p",
    "status", "reason",
]

HARNESS = [
    "variant",             # server variant beyond the back end ("" or e.g. "offload" = server --offload)
    "repetition",          # 0-based repetition of this cell (profiles interleave repetitions)
    "run_index",           # 1-based position in this bench_all run's matrix
    "started_utc",         # ISO 8601 start of this run
    "elapsed_s",           # wall time of the whole run: server start to server exit
    "server_exit",         # how the server ended: "0", "3", "signal 9 (SIGKILL)", "running" (never stopped)...
    "server_stderr_tail",  # last lines of the server's stderr (" | " joined) when the run failed or was degraded
    "log",                 # logs/<stem> prefix of this run's files (.server.log, .loadgen.log, .json)
    "timeline",            # timelines/<stem>.csv written by loadgen --timeline ("" if none)
    "hdr_log",             # hdr/<stem>.hlog written by loadgen --hdr-log ("" if none)
    "ranks",               # scripts/fleet: load-generator hosts (loadgen ranks) of the run ("" = single host)
    "rank_start_skew_ms",  # scripts/fleet: each rank's go after --start-at, ms, ';'-joined in rank order
    "cpu_cap",             # cores the server was capped at (a CPU-quota cgroup, cgroup.py); "" = uncapped
    "search",              # "" plain run | "capacity" (one row per search) | "sweep" (one row per offered rate)
    "slo_ms",              # capacity/sweep: the p99 bound (ms) a step had to meet
    "capacity_rps_at_slo",  # capacity: highest offered rate with achieved >= --slo-achieved x offered and p99 <= SLO
    "search_steps",        # capacity: loadgen runs the search took
    "steps_log",           # capacity: logs/<stem>.steps.jsonl, one JSON line per step
    "offered_fraction",    # sweep: this row's offered rate / the capacity it was derived from
    "stop_reason",         # c1m: why the back end stops at this step ("" = held it whole); bench_all/c1m.py
    "shards",              # c1m: server processes on the port (server --shards); 1 = unsharded
    "rss_slope_bytes_per_min",    # soak: least-squares RSS slope after the warm-up, bytes per minute
    "rss_slope_bytes_per_kconn",  # soak: the same against connections churned, bytes per 1,000 connections
    "threads_after",              # soak: server threads once the load stopped and settled (reason names the idle count)
    "churned_connections",        # soak: connections opened, used once and closed by loadgen churn
]

HEADER = LEADING + LOADGEN + HARNESS

# Statuses a row can have. "failed": no trustworthy measurement; "degraded": measured, but something fell short
# (fewer connections than asked, rate not reached, server did not stop cleanly); "ok": everything as asked.
STATUSES = ("ok", "degraded", "failed")


def csv_value(value):
    """Renders one JSON value the way the CSV stores it: no value -> "", bools -> true/false, lists -> ';' joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(csv_value(v) for v in value)
    if isinstance(value, float):
        return repr(value) if value == value else ""  # NaN -> empty
    return str(value)
