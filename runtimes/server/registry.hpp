#pragma once
// The one table of back ends that the server executable, the tests, the micro benchmarks and bench_all read.
// Adding a back end: one folder under runtimes/ and one line in registry.cpp.
// Peers (runtimes/peers/: the runtimes of other languages) have no serve function: `server --backend <peer>` execs
// the peer's own executable, which sits beside `server` in the same bin/ folder, with the same arguments.
#include <optional>
#include <span>
#include <string_view>

#include "server/backend.hpp"

namespace tvt::server {

struct BackendEntry {
  std::string_view name;
  std::string_view summary;
  void (*serve)(int listen_fd, const ServerOptions&, StopSignal&);  // null for a peer
  std::string_view language = "C++";
  std::string_view executable = {};  // a peer's executable, in the server's own bin/ folder; empty in-process

  constexpr bool is_peer() const { return !executable.empty(); }
};

template <Backend B>
constexpr BackendEntry entry_for() {
  return {B::name, B::summary, &B::serve};
}

// A peer type: name, summary, language, executable (runtimes/peers/peers.hpp).
template <class P>
constexpr BackendEntry peer_entry_for() {
  return {P::name, P::summary, nullptr, P::language, P::executable};
}

std::span<const BackendEntry> backends();
const BackendEntry* find_backend(std::string_view name);

}  // namespace tvt::server
