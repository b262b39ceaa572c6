#pragma once
// What a test can observe of a server process from outside, through /proc (the way loadgen and bench_all observe it):
// open descriptors, resident memory, threads, CPU time. Each returns nullopt once the process is gone.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <thread>

namespace tvt::test {

// Open descriptors: the fd table plus the sockets in any io_uring fixed-file table the process holds (the uring back
// end's connections live there, not in the fd table; without them an "fds back to idle" check could not fail for it).
std::optional<std::size_t> open_fd_count(pid_t pid);
// Only the sockets in the process's io_uring fixed-file tables ("direct descriptors"), read as loadgen reads them
// (loadgen::probe_server): a ring whose lock is busy at that instant under-counts (never over-counts).
std::optional<std::size_t> fixed_file_count(pid_t pid);
std::optional<std::size_t> vm_rss_bytes(pid_t pid);
std::optional<std::size_t> thread_count(pid_t pid);
// utime + stime, all threads.
std::optional<std::chrono::duration<double>> cpu_time(pid_t pid);

// Polls `condition` every `interval` until it holds or `timeout` passes; returns its last value. For conditions that
// settle asynchronously (a server closing descriptors after the client went away).
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(interval);
  }
  return true;
}

}  // namespace tvt::test
