#pragma once
// /proc probes: what the server process costs (user memory, page tables, threads, CPU, fds) and what the machine's
// kernel spends (kernel stacks, page tables, unreclaimable slab, TCP socket memory). Each sample is one consistent
// read; a field that could not be read stays at -1 (the process exited, or /proc hides it).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tvt::loadgen {

struct ServerSample {
  std::int64_t rss_bytes = -1;
  std::int64_t pss_bytes = -1;
  std::int64_t pte_bytes = -1;
  std::int64_t threads = -1;
  double cpu_s = -1;
  std::int64_t fds = -1;      // the fd table plus the sockets in io_uring fixed-file tables (fixed_sockets)
  std::int64_t sockets = -1;  // fds that are sockets: a connection leak shows here, a lazily opened eventfd does not
  // Sockets in the process's io_uring fixed-file tables ("direct descriptors"): the uring back end's connections live
  // there, not in the fd table, so without them its connections and leaks would be invisible. Read from
  // /proc/PID/fdinfo/<ring fd>, which lists the slots only when the ring's lock is free at that instant: a busy ring
  // under-counts (never over-counts).
  std::int64_t fixed_sockets = -1;
};

struct MachineSample {
  std::int64_t kernel_stack_bytes = -1;
  std::int64_t page_tables_bytes = -1;
  std::int64_t slab_unreclaimable_bytes = -1;
  std::int64_t tcp_mem_bytes = -1;  // /proc/net/sockstat "TCP: ... mem" pages, in bytes
};

// How much a server probe reads. `full`: every field. `light`: /proc/PID/status and /proc/PID/stat only (RSS, page
// tables, threads, CPU): what may be read while a load is measured. The rest costs the client's core milliseconds at
// 10,000 connections and can stall the server: a readlink per fd, smaps_rollup's walk of every mapping, and uring's
// fdinfo, which the kernel prints slot by slot holding the ring's lock (a sample each second of the window made
// loadgen's sends up to 70 ms late against uring at 10,000 connections, p99 14-23 ms where the other back ends had
// 2 ms). A light sample leaves pss_bytes, fds, sockets and fixed_sockets at -1.
enum class ProbeDepth { full, light };

ServerSample probe_server(int pid, ProbeDepth depth = ProbeDepth::full);
MachineSample probe_machine();

// `pid` and its descendants (/proc/PID/task/*/children), parents first: a sharded server (server --shards) is its
// supervisor and the shards under it.
std::vector<int> process_tree(int pid);
// Several server processes (one back end spread over processes for their fd limits) counted as one server: sums, and
// a field any process could not give stays unknown (-1).
ServerSample probe_servers(const std::vector<int>& pids, ProbeDepth depth = ProbeDepth::full);
// The server at `pid` with every process under it (a sharded server's shards): what loadgen reports as the server.
ServerSample probe_server_tree(int pid);

// The soft "Max open files" of a process (/proc/PID/limits), if readable.
std::optional<std::int64_t> probe_open_file_limit(int pid);
// The connections a server can hold by its open-file limits: its own, or, when it has child processes (the shards
// of server --shards), theirs summed.
std::optional<std::int64_t> probe_server_file_limit(int pid);
// A single integer from a /proc/sys file.
std::optional<std::int64_t> probe_sysctl(const std::string& path);

}  // namespace tvt::loadgen
