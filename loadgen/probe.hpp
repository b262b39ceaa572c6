#pragma once
// /proc probes: what the server process costs (user memory, page tables, threads, CPU, fds) and what the machine's
// kernel spends (kernel stacks, page tables, unreclaimable slab, TCP socket memory). Each sample is one consistent
// read; a field that could not be read stays at -1 (the process exited, or /proc hides it).
#include <cstdint>
#include <optional>
#include <string>

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

ServerSample probe_server(int pid);
MachineSample probe_machine();

// The soft "Max open files" of a process (/proc/PID/limits), if readable.
std::optional<std::int64_t> probe_open_file_limit(int pid);
// A single integer from a /proc/sys file.
std::optional<std::int64_t> probe_sysctl(const std::string& path);

}  // namespace tvt::loadgen
