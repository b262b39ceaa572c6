#pragma once
// What the server's command line tells a back end. Options a model has no use for are ignored by it (the registry's
// threads_option says which back ends honour worker_threads).
#include <chrono>
#include <cstddef>
#include <utility>

#include "protocol/workload.hpp"

namespace tvt::backend {

struct ServerOptions {
  explicit ServerOptions(protocol::WorkloadConfig w) : workload(std::move(w)) {}

  protocol::WorkloadConfig workload;
  std::size_t stack_size_bytes = 0;           // per thread or fiber; 0 = the model's default
  std::chrono::milliseconds idle_timeout{0};  // idle and header-read timeout (sheds slowloris); 0 = off
  unsigned worker_threads = 0;                // multi-threaded back ends; 0 = one per core
  bool offload_compute = false;               // compute: run the digest via spawn_blocking (the offload variant)
  std::size_t thread_cache = 0;               // threads: finished connection threads kept parked for reuse
  bool chat_inline_writes = false;            // threads, chat: one thread per member, posters write (inline_chat.hpp)
};

}  // namespace tvt::backend
