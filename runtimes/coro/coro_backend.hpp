#pragma once
// The coroutine back ends. Both serve every workload through protocol::with_session_factory with one connection
// coroutine (coro_backend.cpp), and differ only in where connection tasks run:
//   coro-local  one thread: block_on of the accept loop, spawn_local per connection (async-std's spawn_local)
//   coro        spawn per connection onto a ThreadPool (--threads workers, default one per core)
#include <array>

#include "backend/backend.hpp"

namespace tvt::coro {

struct CoroLocalBackend {
  static constexpr std::string_view name = "coro-local";
  static constexpr std::string_view summary = "C++20 stackless coroutines on one thread: block_on + spawn_local";
  static constexpr bool threads_option = false;
  static constexpr std::array variants{backend::offload_variant};
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<CoroLocalBackend>);

struct CoroBackend {
  static constexpr std::string_view name = "coro";
  static constexpr std::string_view summary = "C++20 stackless coroutines on a worker pool: spawn per connection";
  static constexpr bool threads_option = true;
  static constexpr std::array variants{backend::offload_variant};
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<CoroBackend>);

}  // namespace tvt::coro
