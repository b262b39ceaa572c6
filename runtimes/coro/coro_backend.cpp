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
#include "coro/chat_hub.hpp"
#include "coro/compute_offload.hpp"
#include "coro/spawn.hpp"
#include "coro/tcp_listener.hpp"
#include "coro/tcp_stream.hpp"
#include "coro/thread_pool.hpp"
#include "net/log.hpp"
#include "net/partial_request_deadline.hpp"
#include "protocol/partial_buffer.hpp"
#include "protocol/session.hpp"
#include "protocol/workload.hpp"

namespace tvt::coro {
namespace {


struct ThreadScratch {
  std::array<char, 64 * 1024> in;  // uninitialised: only the pages reads touch become resident
  std::string out;
};

// A worker's reply scratch keeps at most this much capacity after a reply: one huge reply (8 pipelined 1 MiB
// bodies) must not pin megabytes per thread for the rest of the process.
constexpr std::size_t scratch_keep_bytes = 64 * 1024;

ThreadScratch& thread_scratch() {
  thread_local const std::unique_ptr<ThreadScratch> scratch(new ThreadScratch);
  return *scratch;
}

void log_close_reason(std::string_view reason) {
  if (reason.empty()) return;
  static net::RateLimitedLog log;
  log.write("closing a connection: %.*s", static_cast<int>(reason.size()), reason.data());
}

enum class Progress { would_block, peer_closed, served, served_then_close };

// One read's worth of work, without suspending (so it touches only this thread's scratch, and its locals stay off
// the connection's coroutine frame): read into the scratch, let the session reply into the scratch, send what the
// socket takes now and copy the rest into `unsent` (the caller awaits sending it). `drained`: the read found the
// socket empty or took less than it could, so wait for the next edge before reading again.
template <protocol::Session Session>
Progress serve_available(TcpStream& stream, Session& session, std::unique_ptr<std::string>& unsent, bool& drained) {
  ThreadScratch& scratch = thread_scratch();
  const auto n = stream.try_read(scratch.in);
  if (!n) {
    drained = true;
    return Progress::would_block;
  }
  if (*n == 0) return Progress::peer_closed;
  drained = *n < scratch.in.size();  // a short read took everything; a new edge will come with new bytes
  struct TrimOnExit {  // also when try_write throws (reset mid-reply)
    std::string& out;
    ~TrimOnExit() {
      if (out.capacity() > scratch_keep_bytes) protocol::release(out);
    }
  } trim{scratch.out};
  scratch.out.clear();
  const auto verdict = session.consume(std::string_view(scratch.in.data(), *n), scratch.out);
  if (!scratch.out.empty()) {
    const std::size_t sent = stream.try_write(scratch.out);
    if (sent < scratch.out.size()) unsent = std::make_unique<std::string>(scratch.out, sent, std::string::npos);
  }
  return verdict == protocol::Verdict::close ? Progress::served_then_close : Progress::served;
}


// The connection loop's two awaits, built outside its frame: GCC keeps every temporary of a full-expression that
// contains a co_await in the coroutine's frame (the by-value limit, write_all's string_view: 32 bytes per idle
// connection). Arguments by reference here, so the loop's expressions make no temporary but the awaitable.
AsyncFd::Wait readable_within(TcpStream& stream, const std::chrono::milliseconds& idle_timeout) noexcept {
  return stream.readable(idle_timeout);
}
Task<void> write_within(TcpStream& stream, const std::string& data, const std::chrono::milliseconds& stall_limit) {
  return stream.write_all(data, stall_limit);
}

// One connection, any workload. Parameters by value: the task outlives the accept loop's iteration. Everything
// declared here lives in the frame for the connection's lifetime (memory per idle connection): keep it small.
template <protocol::Session Session>
Task<void> serve_connection(TcpStream stream, Session session, std::chrono::milliseconds idle_timeout) {
  net::PartialRequestDeadline deadline;  // slowloris: a request may take at most idle_timeout to arrive
  // Reply bytes the socket did not take at once; null otherwise (a pointer, not a std::string: 8 bytes of the frame
  // instead of 32, and the string is made only for a reply the socket refused).
  std::unique_ptr<std::string> unsent;
  bool drained = false;  // wait for the next edge before reading again
  try {
    for (;;) {
      if (drained) co_await readable_within(stream, idle_timeout);  // throws timed_out after idle_timeout of silence
      const Progress progress = serve_available(stream, session, unsent, drained);
      if (progress == Progress::would_block) continue;
      if (progress == Progress::peer_closed) co_return;
      if (unsent) {
        co_await write_within(stream, *unsent, idle_timeout);  // a reader that stops reading is shed like an idle one
        unsent.reset();
      }
      if (progress == Progress::served_then_close) {
        log_close_reason(session.close_reason());
        co_return;
      }
      if (deadline.overdue(session.has_partial(), idle_timeout, "request")) co_return;
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
Task<void> serve_until_stopped(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop,
                               Start start, chat::ChatHub& chat_hub) {
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

void CoroLocalBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  chat::ChatHub chat_hub(options.workload.limits.chat_outbox_bytes);
  block_on(serve_until_stopped(
      listen_fd, options, stop, [](Task<void> task) { return spawn_local(std::move(task)); }, chat_hub));
}

void CoroBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  chat::ChatHub chat_hub(options.workload.limits.chat_outbox_bytes);
  ThreadPool pool(options.worker_threads);
  block_on(serve_until_stopped(
      listen_fd, options, stop, [&pool](Task<void> task) { return pool.spawn(std::move(task)); }, chat_hub));
}

}  // namespace tvt::coro
