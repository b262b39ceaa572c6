#pragma once
// The one table of back ends that the server executable, the tests, the micro benchmarks and bench_all read.
// Adding a back end: one folder under runtimes/ and one line in registry.cpp.
#include <optional>
#include <span>
#include <string_view>

#include "server/backend.hpp"

namespace tvt::server {

struct BackendEntry {
  std::string_view name;
  std::string_view summary;
  void (*serve)(int listen_fd, const ServerOptions&, StopSignal&);
};

template <Backend B>
constexpr BackendEntry entry_for() {
  return {B::name, B::summary, &B::serve};
}

std::span<const BackendEntry> backends();
const BackendEntry* find_backend(std::string_view name);

}  // namespace tvt::server
