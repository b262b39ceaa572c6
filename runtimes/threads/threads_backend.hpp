#pragma once
// The threads back end: one OS thread per connection, blocking sockets. The seed's "simple design".
#include <array>

#include "backend/backend.hpp"

namespace tvt::threads {

// The options a thread-server author would reach for (README.md), run by bench_all as rows of their own.
namespace variant_args {
inline constexpr std::string_view stack64k[] = {"--stack-size", "65536"};  // 64 KiB reservation, not 8 MiB
inline constexpr std::string_view cache[] = {"--thread-cache", "256"};     // finished threads parked for reuse
inline constexpr std::string_view inline_chat[] = {"--chat-writer", "inline"};  // one thread per chat member
inline constexpr protocol::Workload stack64k_workloads[] = {protocol::Workload::http, protocol::Workload::echo,
                                                            protocol::Workload::chat};
inline constexpr protocol::Workload cache_workloads[] = {protocol::Workload::http, protocol::Workload::echo};
inline constexpr protocol::Workload chat_workloads[] = {protocol::Workload::chat};
}  // namespace variant_args

struct ThreadsBackend {
  static constexpr std::string_view name = "threads";
  static constexpr std::string_view summary = "one OS thread per connection, blocking sockets";
  static constexpr bool threads_option = false;
  static constexpr std::array variants{
      backend::Variant{"stack64k", variant_args::stack64k, variant_args::stack64k_workloads},
      backend::Variant{"cache", variant_args::cache, variant_args::cache_workloads},
      backend::Variant{"inline", variant_args::inline_chat, variant_args::chat_workloads},
  };
  static void serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop);
};
static_assert(backend::Backend<ThreadsBackend>);

}  // namespace tvt::threads
