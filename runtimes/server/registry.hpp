#pragma once
// The one list of back ends: the server executable and the tests read this table, and `server --list-backends`
// prints it (JSON Lines, docs/CONTRACTS.md) for bench_all, charts, report and gate. It is generated from the
// back-end folders' tvt_register_backend() calls (runtimes/CMakeLists.txt), so adding a back end is its folder and
// its name in runtimes/CMakeLists.txt's TVT_BACKEND_FOLDERS.
#include <span>
#include <string>
#include <string_view>

#include "backend/backend.hpp"

namespace tvt::server {

struct BackendEntry {
  std::string_view name;
  std::string_view summary;
  std::string_view language;  // "C++" for the back ends served in-process
  // A peer (another language's runtime, runtimes/peers/): the executable beside `server` that serves instead, with
  // the same argv. Empty for in-process back ends.
  std::string_view executable;
  void (*serve)(int listen_fd, const backend::ServerOptions&, backend::StopSignal&);  // null for peers
  bool threads_option;                           // honours --threads N
  std::span<const backend::Variant> variants;  // extra argument sets bench_all may run as rows of their own
};

template <class B>
  requires backend::Backend<B> || backend::PeerBackend<B>
constexpr BackendEntry entry_for() {
  std::span<const backend::Variant> variants;
  if constexpr (requires { B::variants; }) variants = B::variants;
  if constexpr (backend::PeerBackend<B>) {
    return {B::name, B::summary, B::language, B::executable, nullptr, B::threads_option, variants};
  } else {
    return {B::name, B::summary, "C++", {}, &B::serve, B::threads_option, variants};
  }
}

std::span<const BackendEntry> backends();
const BackendEntry* find_backend(std::string_view name);

// One line of `server --list-backends`: a JSON object with name, summary, language, peer, threads_option, variants.
std::string to_json_line(const BackendEntry& entry);

}  // namespace tvt::server
