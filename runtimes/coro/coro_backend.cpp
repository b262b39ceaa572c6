// The coro and coro-local back ends.
//
// Memory per idle connection is the point of this model, so a connection owns only: its spawned task (header + the
// connection coroutine's frame: socket, registration, session, a few locals) and whatever bytes the session keeps
// of a half-received request. Reads go into a per-thread buffer; replies are built in a per-thread string and sent
// at once; only bytes the socket would not take are copied into the connection (and released when sent). The
// per-thread buffers are fetched again after every await, since a pool task may resume on another worker.
//
// Graceful stop: the main task waits on the StopSignal's eventfd; then it cancels and joins the accept loop and
// returns. block_on (coro-local) or the ThreadPool's destructor (coro) cancels every connection task; each unwinds
// at its suspension point and closes its socket.
#include "coro/coro_backend.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>

#include "coro/async_fd.hpp"
#include "coro/block_on.hpp"
#include "coro/chat.hpp"
#include "coro/compute_offload.hpp"
#include "coro/spawn.hpp"
#include "coro/tcp_listener.hpp"
#include "coro/tcp_stream.hpp"
#include "coro/thread_pool.hpp"
#include "net/log.hpp"
#include "protocol/partial_buffer.hpp"
#include "protocol/session.hpp"
#include "protocol/workload.hpp"

namespace tvt::coro {
namespace {

using Clock = std::chrono::steady_clock;

struct ThreadScratch {
  std::array<char, 64 * 1024> in;  // uninitialised: only the pages reads touch become resident
  std::string out;
};

ThreadScratch& thread_scratch() {
  thread_local const std::unique_ptr<ThreadScratch> scratch(new ThreadScratch);
  return *scratch;
}

void log_close_reason(std::string_view reason) {
  if (reason.empty()) return;
  static net::RateLimitedLog log;
  log.write("closing a connection: %.*s", static_cast<int>(reason.size()), reason.data());
}

// One connection, any workload. Parameters by value: the task outlives the accept loop's iteration.
template <protocol::Session Session>
Task<void> serve_connection(TcpStream stream, Session session, std::chrono::milliseconds idle_timeout) {
  Clock::time_point partial_since{};
  std::string unsent;     // reply bytes the socket did not take at once; empty (no heap) otherwise
  bool drained = false;   // the last read found the socket empty: wait for the next edge before reading again
  try {
    for (;;) {
      if (drained) co_await stream.readable(idle_timeout);  // throws timed_out after idle_timeout of silence
      ThreadScratch& scratch = thread_scratch();            // after the await: maybe another worker's
      const auto n = stream.try_read(scratch.in);
      if (!n) {
        drained = true;
        continue;
      }
      if (*n == 0) co_return;  // peer closed
      // A short read took everything the socket had; a new edge will come with new bytes.
      drained = *n < scratch.in.size();
      scratch.out.clear();
      const auto verdict = session.consume(std::string_view(scratch.in.data(), *n), scratch.out);
      if (!scratch.out.empty()) {
        const std::size_t sent = stream.try_write(scratch.out);
        if (sent < scratch.out.size()) {
          unsent.assign(scratch.out, sent, std::string::npos);
          co_await stream.write_all(unsent, idle_timeout);  // a reader that stops reading is shed like an idle one
          protocol::release(unsent);
        }
      }
      if (verdict == protocol::Verdict::close) {
        log_close_reason(session.close_reason());
        co_return;
      }
      // Header-read timeout (slowloris): the clock is read only while a request is half-received.
      if (idle_timeout.count() > 0 && session.has_partial()) {
        const auto now = Clock::now();
        if (partial_since == Clock::time_point{}) {
          partial_since = now;
        } else if (now - partial_since > idle_timeout) {
          static net::RateLimitedLog log;
          log.write("closing a connection: request not received whole within %lld ms",
                    static_cast<long long>(idle_timeout.count()));
          co_return;
        }
      } else {
        partial_since = {};
      }
    }
  } catch (const std::system_error& e) {
    // Reset by the peer, idle timeout, ...: the connection is over. Only the unusual is worth a log line.
    if (e.code() != std::errc::connection_reset && e.code() != std::errc::timed_out &&
        e.code() != std::errc::broken_pipe) {
      static net::RateLimitedLog log;
      log.write("connection error: %s", e.what());
    }
  }
}

// Accepts until cancelled; `spawn_connection(Task<void>)` decides where each connection runs.
template <class MakeSession, class SpawnConnection>
Task<void> accept_connections(TcpListener& listener, std::chrono::milliseconds idle_timeout, MakeSession make_session,
                              SpawnConnection spawn_connection) {
  for (;;) {
    TcpStream stream = co_await listener.accept();
    spawn_connection(serve_connection(std::move(stream), make_session(), idle_timeout)).detach();
  }
}

// Accepts until cancelled, running `make_task(stream)` for each connection (chat, compute with --offload).
template <class MakeTask, class SpawnConnection>
Task<void> accept_into(TcpListener& listener, MakeTask make_task, SpawnConnection spawn_connection) {
  for (;;) {
    TcpStream stream = co_await listener.accept();
    spawn_connection(make_task(std::move(stream))).detach();
  }
}

// Starts the accept loop via `start`, waits for stop, then stops the accept loop (the listener lives in this
// frame, so the loop must be gone before it returns).
// `chat_hub` outlives the runtime (it is declared before the pool / block_on), so no connection outlives it.
template <class Start>
Task<void> serve_until_stopped(int listen_fd, const server::ServerOptions& options, server::StopSignal& stop,
                               Start start, chat::Hub& chat_hub) {
  TcpListener listener = TcpListener::borrow(listen_fd);
  AsyncFd stop_fd(stop.fd(), Ownership::borrowed);
  const auto& workload = options.workload;
  auto accept_loop = [&] {
    if (workload.workload == protocol::Workload::chat) {
      return start(accept_into(
          listener,
          [&chat_hub, &options, start](TcpStream stream) {
            return chat::serve_chat(std::move(stream), chat_hub, options.workload.limits, options.idle_timeout, start);
          },
          start));
    }
    if (workload.workload == protocol::Workload::compute && options.offload_compute) {
      return start(accept_into(
          listener,
          [&options](TcpStream stream) {
            return serve_compute_offloaded(std::move(stream), options.workload.limits, options.idle_timeout);
          },
          start));
    }
    return protocol::with_session_factory(workload, [&](auto make_session) {
      return start(accept_connections(listener, options.idle_timeout, make_session, start));
    });
  }();
  while (!stop.requested()) co_await stop_fd.readable();
  accept_loop.cancel();
  try {
    co_await accept_loop;
  } catch (const TaskCancelled&) {
  }
}

}  // namespace

void CoroLocalBackend::serve(int listen_fd, const server::ServerOptions& options, server::StopSignal& stop) {
  chat::Hub chat_hub(options.workload.limits.chat_outbox_bytes);
  block_on(serve_until_stopped(
      listen_fd, options, stop, [](Task<void> task) { return spawn_local(std::move(task)); }, chat_hub));
}

void CoroBackend::serve(int listen_fd, const server::ServerOptions& options, server::StopSignal& stop) {
  chat::Hub chat_hub(options.workload.limits.chat_outbox_bytes);
  ThreadPool pool(options.worker_threads);
  block_on(serve_until_stopped(
      listen_fd, options, stop, [&pool](Task<void> task) { return pool.spawn(std::move(task)); }, chat_hub));
}

}  // namespace tvt::coro
