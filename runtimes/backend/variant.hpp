#pragma once
// A variant: a named set of extra server arguments that bench_all may run as a row of its own (the `variant`
// column), for the workloads it changes. A back end lists the variants it supports; `server --list-backends` prints
// them, so no harness keeps its own list of which back end takes which flag.
#include <span>
#include <string_view>

#include "protocol/workload.hpp"

namespace tvt::backend {

struct Variant {
  std::string_view name;
  std::span<const std::string_view> args;          // appended to the server's command line
  std::span<const protocol::Workload> workloads;  // the workloads the arguments change
};

// compute with --offload: each digest runs on the model's spawn_blocking pool instead of the connection's thread.
inline constexpr std::string_view offload_args[] = {"--offload"};
inline constexpr protocol::Workload offload_workloads[] = {protocol::Workload::compute};
inline constexpr Variant offload_variant{"offload", offload_args, offload_workloads};

}  // namespace tvt::backend
