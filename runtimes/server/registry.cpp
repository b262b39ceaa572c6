#include "server/registry.hpp"

#include <algorithm>
#include <array>

#include "asio/asio_backend.hpp"
#include "coro/coro_backend.hpp"
#include "fiber/fiber_backend.hpp"
#include "peers/peers.hpp"
#include "threads/threads_backend.hpp"
#include "uring/uring_backend.hpp"

namespace tvt::server {
namespace {

constexpr std::array registered = {
    entry_for<threads::ThreadsBackend>(),
    entry_for<asio_backend::AsioBackend>(),
    entry_for<asio_backend::AsioMtBackend>(),
    entry_for<fiber::FiberBackend>(),
    entry_for<fiber::FiberMtBackend>(),
    entry_for<coro::CoroLocalBackend>(),
    entry_for<coro::CoroBackend>(),
    entry_for<uring::UringBackend>(),
    // runtimes/peers/: the runtimes a user would pick instead, one executable per language runtime.
    peer_entry_for<peers::GoPeer>(),
    peer_entry_for<peers::GoMtPeer>(),
    peer_entry_for<peers::TokioPeer>(),
    peer_entry_for<peers::TokioMtPeer>(),
    peer_entry_for<peers::AsyncStdPeer>(),
};

}  // namespace

std::span<const BackendEntry> backends() { return registered; }

const BackendEntry* find_backend(std::string_view name) {
  const auto it = std::find_if(registered.begin(), registered.end(), [&](const auto& e) { return e.name == name; });
  return it == registered.end() ? nullptr : &*it;
}

}  // namespace tvt::server
