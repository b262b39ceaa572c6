// Threads back end: one OS thread per connection, blocking sockets.
//
// Invariants (the book of threads and its shutdown order: connection_threads.hpp):
// - Each accepted fd is owned by exactly one thread from the moment it is handed over (pthread_create's argument or
//   ConnectionThreads::hand_off), and that thread closes it.
// - Threads are detached; serve() does not return before every thread has called thread_exited() (bounded by the
//   drain budget), so the objects on serve()'s stack that threads use outlive them.
//
// std::thread has no stack-size knob, so threads are made with pthread_create; with --stack-size 0 they get exactly
// the attributes std::thread would (the system default, normally 8 MiB virtual, touched pages only resident).
// Per connection nothing is allocated but the 16-byte start record (freed as the thread starts) and what the
// session and its reply string need; the connection's list node lives on its thread's stack.
#include "threads/threads_backend.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "blocking/serve_chat.hpp"
#include "blocking/serve_connection.hpp"
#include "net/acceptor.hpp"
#include "net/log.hpp"
#include "threads/blocking_socket.hpp"
#include "threads/connection_threads.hpp"
#include "threads/inline_chat.hpp"
#include "threads/thread_sync.hpp"

namespace tvt::threads {
namespace {

constexpr auto drain_budget = std::chrono::milliseconds(1500);

// What every connection thread of one serve() call shares; lives on serve()'s stack.
struct Shared {
  const backend::ServerOptions& options;
  ChatHub& chat_hub;
  ConnectionThreads& threads;
};

struct Start {
  Shared* shared;
  int fd;
};

void serve_one(const Shared& shared, int fd) {
  ConnectionThreads::Live live{fd};
  if (shared.threads.add(live)) {
    BlockingSocket socket(fd, shared.options.idle_timeout);
    const auto& workload = shared.options.workload;
    if (workload.workload != protocol::Workload::chat) {
      protocol::with_session_factory(workload, [&](auto make_session) {
        blocking::serve_connection(socket, make_session(), shared.options.idle_timeout);
      });
    } else if (shared.options.chat_inline_writes) {
      serve_chat_inline(socket, shared.chat_hub, workload.limits.max_line_bytes, shared.options.idle_timeout);
    } else {
      blocking::serve_chat(socket, shared.chat_hub, workload.limits.max_line_bytes, shared.options.idle_timeout);
    }
    shared.threads.remove(live);
  }
  ::close(fd);
}

void* connection_thread(void* arg) {
  const Start start = *static_cast<Start*>(arg);
  delete static_cast<Start*>(arg);
  // With a thread cache, the thread parks after its connection and serves the next one it is handed.
  for (int fd = start.fd; fd >= 0; fd = start.shared->threads.park()) serve_one(*start.shared, fd);
  start.shared->threads.thread_exited();  // last touch of anything shared
  return nullptr;
}

// Gives `fd` to a parked thread, or starts one; on failure (EAGAIN: thread or memory limits) the connection is
// closed.
void hand_to_thread(net::UniqueFd fd, Shared& shared, const pthread_attr_t& attr) {
  if (shared.threads.hand_off(fd.get())) {
    fd.release();
    return;
  }
  auto start = std::make_unique<Start>(Start{&shared, fd.get()});
  shared.threads.thread_starting();
  pthread_t thread;
  const int rc = ::pthread_create(&thread, &attr, &connection_thread, start.get());
  if (rc != 0) {
    shared.threads.thread_not_started();
    static net::RateLimitedLog log;
    log.write("cannot start a thread for a new connection (%s); closing it", net::strerror_safe(rc));
    return;  // `fd` closes the connection on return
  }
  start.release();  // owned by the thread now
  fd.release();
}

}  // namespace

void ThreadsBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (options.stack_size_bytes != 0) ::pthread_attr_setstacksize(&attr, options.stack_size_bytes);
  if (options.chat_inline_writes && options.workload.workload == protocol::Workload::chat) prepare_inline_chat();

  net::set_nonblocking(listen_fd);
  net::Acceptor acceptor(listen_fd, /*nonblocking_connections=*/false);
  ChatHub chat_hub(options.workload.limits.chat_outbox_bytes);
  ConnectionThreads threads(options.thread_cache);
  Shared shared{options, chat_hub, threads};
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
      hand_to_thread(std::move(result.fd), shared, attr);
    }
  }
  ::pthread_attr_destroy(&attr);
  threads.stop_and_wait(drain_budget);
}

}  // namespace tvt::threads
