#pragma once
// The contract every back end satisfies. A back end is a concurrency model plus a serve loop: given a listening
// socket, the server options and a stop signal, it serves connections until stop is requested, then closes every
// connection and returns. It measures nothing: load generators and bench_all observe it from outside.
#include <chrono>
#include <concepts>
#include <cstddef>
#include <string_view>
#include <utility>

#include "protocol/workload.hpp"
#include "server/stop_signal.hpp"

namespace tvt::server {

struct ServerOptions {
  explicit ServerOptions(protocol::WorkloadConfig w) : workload(std::move(w)) {}

  protocol::WorkloadConfig workload;
  std::size_t stack_size_bytes = 0;           // per thread or fiber; 0 = the model's default
  std::chrono::milliseconds idle_timeout{0};  // idle and header-read timeout (sheds slowloris); 0 = off
  unsigned worker_threads = 0;                // multi-threaded back ends; 0 = one per core
  bool offload_compute = false;               // compute: run the digest via spawn_blocking where the model has one
  std::size_t thread_cache = 0;               // threads: finished connection threads kept parked for reuse
  bool chat_inline_writes = false;            // threads, chat: one thread per member, posters write (inline_chat.hpp)
};

// `serve` may throw std::exception for a start-up failure; the server prints it and exits non-zero.
// `listen_fd` is a listening TCP socket owned by the caller (blocking; the back end may change that).
template <class B>
concept Backend = requires(int listen_fd, const ServerOptions& options, StopSignal& stop) {
  { B::name } -> std::convertible_to<std::string_view>;
  { B::summary } -> std::convertible_to<std::string_view>;
  { B::serve(listen_fd, options, stop) } -> std::same_as<void>;
};

}  // namespace tvt::server
