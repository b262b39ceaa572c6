#pragma once
// The fiber back ends: one fiber per connection on the fiber runtime, running the same blocking-style connection
// loops as the threads back end (blocking/serve_connection.hpp, blocking/serve_chat.hpp) over a SocketStream.
#include <array>

#include "backend/backend.hpp"

namespace tvt::fiber {

struct FiberBackend {
  static constexpr std::string_view name = "fiber";
  static constexpr std::string_view summary = "one stackful fiber per connection, one worker thread";
  static constexpr bool threads_option = false;
  static constexpr std::array variants{backend::offload_variant};
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<FiberBackend>);

struct FiberMtBackend {
  static constexpr std::string_view name = "fiber-mt";
  static constexpr std::string_view summary = "one stackful fiber per connection, N worker threads (--threads)";
  static constexpr bool threads_option = true;
  static constexpr std::array variants{backend::offload_variant};
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<FiberMtBackend>);

}  // namespace tvt::fiber
