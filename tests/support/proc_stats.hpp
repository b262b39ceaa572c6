#pragma once
// What a test can observe of a server process from outside, through /proc (the way loadgen and bench_all observe it):
// open descriptors, resident memory, threads, CPU time. Each returns nullopt once the process is gone.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <thread>

namespace tvt::test {

std::optional<std::size_t> open_fd_count(pid_t pid);
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
