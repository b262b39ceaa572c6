#pragma once
// The threads back end: one OS thread per connection, blocking sockets. The seed's "simple design".
#include "server/backend.hpp"

namespace tvt::threads {

struct ThreadsBackend {
  static constexpr std::string_view name = "threads";
  static constexpr std::string_view summary = "one OS thread per connection, blocking sockets";
  static void serve(int listen_fd, const server::ServerOptions& options, server::StopSignal& stop);
};
static_assert(server::Backend<ThreadsBackend>);

}  // namespace tvt::threads
