#pragma once
// The threads back end: one OS thread per connection, blocking sockets. The seed's "simple design".
#include "backend/backend.hpp"

namespace tvt::threads {

struct ThreadsBackend {
  static constexpr std::string_view name = "threads";
  static constexpr std::string_view summary = "one OS thread per connection, blocking sockets";
  static constexpr bool threads_option = false;
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<ThreadsBackend>);

}  // namespace tvt::threads
