#pragma once
// The fiber back ends: one fiber per connection on the fiber runtime, running the same blocking-style connection
// loops as the threads back end (blocking/serve_connection.hpp, blocking/serve_chat.hpp) over a SocketStream.
#include "server/backend.hpp"

namespace tvt::fiber {

struct FiberBackend {
  static constexpr std::string_view name = "fiber";
  static constexpr std::string_view summary = "one stackful fiber per connection, one worker thread";
  static void serve(int listen_fd, const server::ServerOptions& options, server::StopSignal& stop);
};
static_assert(server::Backend<FiberBackend>);

struct FiberMtBackend {
  static constexpr std::string_view name = "fiber-mt";
  static constexpr std::string_view summary = "one stackful fiber per connection, N worker threads (--threads)";
  static void serve(int listen_fd, const server::ServerOptions& options, server::StopSignal& stop);
};
static_assert(server::Backend<FiberMtBackend>);

}  // namespace tvt::fiber
