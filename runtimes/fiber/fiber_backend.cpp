// The fiber and fiber-mt back ends.
//
// Invariants
// - The accept loop is the root fiber. Each accepted connection gets a detached fiber that owns its fd (TcpStream)
//   and is linked in `ConnectionSet` (intrusive, the node lives on the fiber's stack) while it serves.
// - A connection fiber unlinks itself under the set's mutex *before* its fd is closed, so shutdown_all() never
//   touches a closed (or reused) fd number; std::mutex is fine here because nothing parks while holding it.
// - Shutdown order: stop requested (the stop eventfd wakes the accept loop) -> the accept loop stops accepting ->
//   shutdown_all(): `closing_` is set (a connection fiber that starts later exits at once) and every live fd is
//   shut down, which wakes each parked read/write with end-of-stream -> the fibers finish -> block_on returns once
//   the last fiber is done -> serve() returns.
#include "fiber/fiber_backend.hpp"

#include <sys/socket.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <optional>

#include "blocking/chat_hub.hpp"
#include "blocking/serve_chat.hpp"
#include "blocking/serve_connection.hpp"
#include "fiber/condition_variable.hpp"
#include "fiber/detail/io_wait.hpp"
#include "fiber/detail/worker.hpp"
#include "fiber/mutex.hpp"
#include "fiber/compute_offload.hpp"
#include "fiber/scheduler.hpp"
#include "fiber/socket_stream.hpp"
#include "fiber/spawn.hpp"
#include "fiber/tcp.hpp"
#include "fiber/this_fiber.hpp"
#include "net/acceptor.hpp"
#include "net/log.hpp"
#include "net/socket.hpp"

namespace tvt::fiber {
namespace {

// The fiber model's synchronization for the shared chat loop: a connection's writer is a second fiber.
struct FiberSync {
  using Mutex = fiber::Mutex;
  using CondVar = fiber::ConditionVariable;
  template <class F>
  static JoinHandle<void> start(F&& f) {
    return spawn(std::forward<F>(f));
  }
};
static_assert(blocking::ChatSync<FiberSync>);
using ChatHub = blocking::ChatHub<FiberSync>;

class ConnectionSet {
 public:
  struct Node {
    int fd;
    Node* prev = nullptr;
    Node* next = nullptr;
  };
  // False if the server is already closing: the caller must not serve.
  bool add(Node& n) {
    std::lock_guard lock(mutex_);
    if (closing_) return false;
    n.next = head_;
    if (head_ != nullptr) head_->prev = &n;
    head_ = &n;
    return true;
  }
  void remove(Node& n) {
    std::lock_guard lock(mutex_);
    if (n.prev != nullptr) n.prev->next = n.next;
    else head_ = n.next;
    if (n.next != nullptr) n.next->prev = n.prev;
  }
  void shutdown_all() {
    std::lock_guard lock(mutex_);
    closing_ = true;
    for (Node* n = head_; n != nullptr; n = n->next) ::shutdown(n->fd, SHUT_RDWR);
  }

 private:
  std::mutex mutex_;
  Node* head_ = nullptr;
  bool closing_ = false;
};

struct Shared {
  const backend::ServerOptions& options;
  ConnectionSet connections;
  std::optional<ChatHub> chat_hub;
};

void serve_connection_fiber(Shared& shared, net::UniqueFd fd) {
  const int fd_number = fd.get();
  TcpStream stream(std::move(fd));
  ConnectionSet::Node node{fd_number};
  if (!shared.connections.add(node)) return;
  // Unlinked before ~TcpStream closes the fd, also when the loop throws (std::bad_alloc, say).
  struct Unlink {
    ConnectionSet& set;
    ConnectionSet::Node& node;
    ~Unlink() { set.remove(node); }
  } unlink{shared.connections, node};
  const auto& options = shared.options;
  if (options.workload.workload == protocol::Workload::chat) {
    SocketStream socket(stream, options.idle_timeout, SocketStream::Buffers::per_connection);
    blocking::serve_chat<FiberSync>(socket, *shared.chat_hub, options.workload.limits.max_line_bytes,
                                    options.idle_timeout);
  } else if (options.workload.workload == protocol::Workload::compute && options.offload_compute) {
    SocketStream socket(stream, options.idle_timeout, SocketStream::Buffers::per_connection);
    blocking::serve_connection(socket, OffloadingComputeSession(options.workload.limits), options.idle_timeout);
  } else {
    SocketStream socket(stream, options.idle_timeout);
    protocol::with_session_factory(options.workload, [&](auto make_session) {
      blocking::serve_connection(socket, make_session(), options.idle_timeout);
    });
  }
}

void accept_loop(Shared& shared, int listen_fd, backend::StopSignal& stop) {
  net::set_nonblocking(listen_fd);
  net::Acceptor acceptor(listen_fd, /*nonblocking_connections=*/true);
  detail::Worker& w = *detail::current_worker();
  reactor::Registration listen_reg, stop_reg;
  w.uses_reactor = true;
  w.reactor.add(listen_fd, listen_reg);
  w.reactor.add(stop.fd(), stop_reg);
  while (!stop.requested()) {
    auto result = acceptor.accept();
    if (result.status == net::AcceptStatus::would_block) {
      detail::wait_io(listen_reg, reactor::Direction::read, std::nullopt, &stop_reg);
      continue;
    }
    if (result.status == net::AcceptStatus::shed) {
      this_fiber::sleep_for(std::chrono::milliseconds(10));  // out of fds: let connections finish first
      continue;
    }
    if (result.status != net::AcceptStatus::accepted) continue;
    net::set_nodelay(result.fd.get());
    try {
      spawn([&shared, fd = std::move(result.fd)]() mutable { serve_connection_fiber(shared, std::move(fd)); })
          .detach();
    } catch (const std::exception& e) {  // no memory for a stack: refuse this one, keep serving the others
      static net::RateLimitedLog log;
      log.write("cannot start a fiber for a new connection (%s); closing it", e.what());
    }
  }
  listen_reg.reactor()->remove(listen_reg);
  stop_reg.reactor()->remove(stop_reg);
  shared.connections.shutdown_all();
}

// TVT_FIBER_GUARDS=mprotect|canary forces a weaker guard mode, to measure it or to test the fallback; unset or
// anything else: automatic (the best the kernel offers).
StackPool::GuardPolicy guard_policy_from_environment() {
  const char* value = std::getenv("TVT_FIBER_GUARDS");
  if (value == nullptr) return StackPool::GuardPolicy::automatic;
  const std::string_view v(value);
  if (v == "mprotect") return StackPool::GuardPolicy::mprotect_only;
  if (v == "canary") return StackPool::GuardPolicy::canary_only;
  return StackPool::GuardPolicy::automatic;
}

void serve_on_fibers(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop,
                     unsigned workers) {
  Scheduler scheduler({.workers = workers,
                       .stack_size_bytes = options.stack_size_bytes != 0 ? options.stack_size_bytes : 64 * 1024,
                       .guard_policy = guard_policy_from_environment()});
  Shared shared{options, {}, {}};
  if (options.workload.workload == protocol::Workload::chat)
    shared.chat_hub.emplace(options.workload.limits.chat_outbox_bytes);
  scheduler.block_on([&] { accept_loop(shared, listen_fd, stop); });
}

}  // namespace

void FiberBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  serve_on_fibers(listen_fd, options, stop, 1);
}

void FiberMtBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  serve_on_fibers(listen_fd, options, stop, options.worker_threads != 0 ? options.worker_threads : 1);
}

}  // namespace tvt::fiber
