// Threads back end.
//
// Invariants:
// - Each accepted connection is owned by exactly one detached thread, which closes its fd when done.
// - `live_` holds the fds of running connections. A thread removes its fd under `mutex_` *before* closing it, so
//   stop() can shutdown() every fd in the set without racing a close (and never touches a reused fd number).
// - Shutdown order: stop requested -> accept loop exits -> shutdown(SHUT_RDWR) every live fd, which wakes each
//   blocked recv with 0 -> threads return -> `live_` empties -> serve() returns.
//
// std::thread has no stack-size knob, so threads are made with pthread_create; with --stack-size 0 they get exactly
// the attributes std::thread would (the system default, normally 8 MiB virtual, touched pages only resident).
#include "threads/threads_backend.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "blocking/serve_chat.hpp"
#include "blocking/serve_connection.hpp"
#include "net/acceptor.hpp"
#include "net/log.hpp"
#include "threads/blocking_socket.hpp"
#include "threads/thread_sync.hpp"

namespace tvt::threads {
namespace {

constexpr auto drain_budget = std::chrono::milliseconds(1500);

class ConnectionSet {
 public:
  void add(int fd) {
    std::lock_guard lock(mutex_);
    live_.insert(fd);
  }
  // Removes `fd` (the caller closes it afterwards).
  void remove(int fd) {
    std::lock_guard lock(mutex_);
    live_.erase(fd);
    if (live_.empty()) drained_.notify_all();
  }
  // Wakes every connection thread and waits (bounded) until they have all finished.
  void shutdown_all_and_wait() {
    std::unique_lock lock(mutex_);
    for (int fd : live_) ::shutdown(fd, SHUT_RDWR);
    drained_.wait_for(lock, drain_budget, [&] { return live_.empty(); });
  }

 private:
  std::mutex mutex_;
  std::condition_variable drained_;
  std::unordered_set<int> live_;
};

using ChatHub = blocking::ChatHub<ThreadSync>;

struct Connection {
  int fd;
  ConnectionSet* set;
  const backend::ServerOptions* options;
  ChatHub* chat_hub;  // shared by every connection of a chat server
};

void* run_connection(void* arg) {
  const std::unique_ptr<Connection> c(static_cast<Connection*>(arg));
  {
    BlockingSocket socket(c->fd, c->options->idle_timeout);
    const auto& workload = c->options->workload;
    if (workload.workload == protocol::Workload::chat) {
      blocking::serve_chat(socket, *c->chat_hub, workload.limits.max_line_bytes, c->options->idle_timeout);
    } else {
      protocol::with_session_factory(workload, [&](auto make_session) {
        blocking::serve_connection(socket, make_session(), c->options->idle_timeout);
      });
    }
  }
  c->set->remove(c->fd);
  ::close(c->fd);
  return nullptr;
}

// Starts a detached thread for `fd`; on failure (EAGAIN: thread or memory limits) the connection is closed.
bool start_connection_thread(net::UniqueFd fd, ConnectionSet& set, const backend::ServerOptions& options,
                             ChatHub& chat_hub, const pthread_attr_t& attr) {
  auto conn = std::make_unique<Connection>(Connection{fd.get(), &set, &options, &chat_hub});
  set.add(fd.get());
  pthread_t thread;
  const int rc = ::pthread_create(&thread, &attr, &run_connection, conn.get());
  if (rc != 0) {
    set.remove(fd.get());
    static net::RateLimitedLog log;
    log.write("cannot start a thread for a new connection (%s); closing it", net::strerror_safe(rc));
    return false;  // `fd` closes the connection on return
  }
  conn.release();  // owned by the thread now
  fd.release();
  return true;
}

}  // namespace

void ThreadsBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (options.stack_size_bytes != 0) ::pthread_attr_setstacksize(&attr, options.stack_size_bytes);

  net::set_nonblocking(listen_fd);
  net::Acceptor acceptor(listen_fd, /*nonblocking_connections=*/false);
  ChatHub chat_hub(options.workload.limits.chat_outbox_bytes);
  ConnectionSet connections;
  pollfd fds[2] = {{listen_fd, POLLIN, 0}, {stop.fd(), POLLIN, 0}};
  while (!stop.requested()) {
    if (::poll(fds, 2, -1) < 0) continue;  // EINTR
    for (;;) {
      auto result = acceptor.accept();
      if (result.status == net::AcceptStatus::would_block) break;
      if (result.status != net::AcceptStatus::accepted) {
        // Shed (out of fds) or failed (ENOBUFS, ...): pause briefly (still woken by stop) instead of spinning on a
        // backlog we cannot take.
        ::poll(&fds[1], 1, 10);
        break;
      }
      net::set_nodelay(result.fd.get());
      start_connection_thread(std::move(result.fd), connections, options, chat_hub, attr);
    }
  }
  ::pthread_attr_destroy(&attr);
  connections.shutdown_all_and_wait();
}

}  // namespace tvt::threads
