#pragma once
// The io_uring back end: one thread, one completion loop, a completion-based (not readiness-based) model. Accepts go
// straight into io_uring's fixed-file table ("direct descriptors"), so connections do not occupy the process's file
// descriptor table: one process holds up to RLIMIT_NOFILE connections *plus* its own descriptors. See README.md.
#include "backend/backend.hpp"

namespace tvt::uring {

struct UringBackend {
  static constexpr std::string_view name = "uring";
  static constexpr std::string_view summary =
      "io_uring completion loop on one thread; connections live in the fixed-file table, not the fd table";
  static constexpr bool threads_option = false;
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<UringBackend>);

}  // namespace tvt::uring
