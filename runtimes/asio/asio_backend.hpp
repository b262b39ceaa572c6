#pragma once
// The Asio back ends: the reference a C++ user would pick instead of our runtimes. Standalone Asio 1.22 with C++20
// coroutines (co_spawn + awaitable per connection), written the way Asio's own examples write a server.
//   asio:    one io_context run by one thread.
//   asio-mt: one io_context run by --threads threads (default one per core); each connection on its own strand.
#include "backend/backend.hpp"

namespace tvt::asio_backend {

struct AsioBackend {
  static constexpr std::string_view name = "asio";
  static constexpr std::string_view summary = "Asio C++20 coroutines, one io_context on one thread";
  static constexpr bool threads_option = false;
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<AsioBackend>);

struct AsioMtBackend {
  static constexpr std::string_view name = "asio-mt";
  static constexpr std::string_view summary = "Asio C++20 coroutines, one io_context run by N threads (--threads)";
  static constexpr bool threads_option = true;
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<AsioMtBackend>);

}  // namespace tvt::asio_backend
