// The Asio back ends: an accept coroutine, one coroutine per connection (co_spawn), the shared protocol sessions.
//
// Invariants:
// - asio: everything runs on the one thread inside io_context::run(); connections use the io_context's executor.
// - asio-mt: N threads run the same io_context; each connection's coroutines run on a strand of their own, so a
//   connection's state is never touched by two threads at once; the acceptor and the stop watcher share one strand.
// - Shutdown order: StopSignal's eventfd becomes readable -> the stop watcher closes the acceptor and stops the
//   io_context -> run() returns on every thread -> threads are joined -> the io_context's destructor destroys the
//   remaining connection coroutines, whose sockets close as their frames go. Nothing is left running after serve().
#include "asio/asio_backend.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <array>
#include <cerrno>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "asio/chat_hub.hpp"
#include "asio/deadline.hpp"
#include "asio/log_exception.hpp"
#include "net/log.hpp"
#include "net/unique_fd.hpp"
#include "protocol/partial_buffer.hpp"
#include "protocol/session.hpp"

namespace tvt::asio_backend {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

// Per connection, like Asio's examples: a read buffer in the coroutine frame, replies gathered in one string.
constexpr std::size_t read_buffer_bytes = 1024;
constexpr std::size_t keep_reply_bytes = 4 * 1024;  // a larger reply buffer is given back once sent

void log_close_reason(std::string_view reason) {
  if (reason.empty()) return;
  static net::RateLimitedLog log;
  log.write("closing a connection: %.*s", static_cast<int>(reason.size()), reason.data());
}

// Reads, lets the session answer, writes, until the peer closes or the session says close.
template <protocol::Session Session>
awaitable<void> session_loop(tcp::socket& socket, Session& session, Deadline* deadline) {
  std::array<char, read_buffer_bytes> buffer;
  std::string out;
  for (;;) {
    std::error_code ec;
    const auto n = co_await socket.async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    const bool was_partial = session.has_partial();
    const auto verdict = session.consume(std::string_view(buffer.data(), n), out);
    if (!out.empty()) {
      co_await asio::async_write(socket, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      if (out.capacity() > keep_reply_bytes) {
        protocol::release(out);
      } else {
        out.clear();
      }
    }
    if (verdict == protocol::Verdict::close) {
      log_close_reason(session.close_reason());
      co_return;
    }
    if (deadline != nullptr) deadline->after_read(was_partial, session.has_partial());
  }
}

template <protocol::Session Session>
awaitable<void> serve_session(tcp::socket socket, Session session, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) {
    using namespace asio::experimental::awaitable_operators;
    Deadline deadline(timeout);
    const auto finished = co_await (session_loop(socket, session, &deadline) || deadline.expired());
    if (finished.index() == 1) {
      static net::RateLimitedLog log;
      log.write("closing a connection: idle, or a request not received whole, for %lld ms",
                static_cast<long long>(timeout.count()));
    }
  } else {
    co_await session_loop(socket, session, nullptr);
  }
}

class Server {
 public:
  Server(int listen_fd, const backend::ServerOptions& options, unsigned threads)
      : options_(options), threads_(threads), io_(static_cast<int>(threads)),
        control_(threads > 1 ? asio::any_io_executor(asio::make_strand(io_)) : io_.get_executor()),
        acceptor_(control_, tcp::v4(), dup_or_throw(listen_fd)),
        chat_hub_(threads > 1 ? asio::any_io_executor(asio::make_strand(io_)) : io_.get_executor(),
                  options.workload.limits.chat_outbox_bytes),
        spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

  void run(backend::StopSignal& stop) {
    asio::co_spawn(control_, accept_loop(), log_exception);
    asio::co_spawn(control_, watch_stop(stop), log_exception);
    std::vector<std::thread> helpers;
    for (unsigned i = 1; i < threads_; ++i) helpers.emplace_back([this] { run_io(); });
    run_io();
    for (auto& t : helpers) t.join();
  }

 private:
  static int dup_or_throw(int fd) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);  // the acceptor closes its descriptor; the caller keeps its own
    if (copy < 0) throw std::system_error(errno, std::generic_category(), "dup(listen fd)");
    return copy;
  }

  void run_io() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {  // a handler threw: log it and keep serving the other connections
        static net::RateLimitedLog log;
        log.write("io_context handler threw: %s", e.what());
      }
    }
  }

  asio::any_io_executor connection_executor() {
    if (threads_ > 1) return asio::make_strand(io_);
    return io_.get_executor();
  }

  awaitable<void> accept_loop() {
    asio::steady_timer backoff(control_);
    for (;;) {
      const auto executor = connection_executor();
      std::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(executor, asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;  // acceptor closed: stopping
      if (ec.value() == EMFILE || ec.value() == ENFILE) {
        shed_one();
        backoff.expires_after(std::chrono::milliseconds(10));  // don't spin on a backlog we cannot take
        co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (ec) {
        static net::RateLimitedLog log;
        log.write("accept: %s", ec.message().c_str());
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      start_connection(std::move(socket), executor);
    }
  }

  // Out of descriptors: give back the spare, accept one pending connection and close it at once (the client sees a
  // clean close instead of a hang), take the spare again. The same trick as net::Acceptor.
  void shed_one() {
    static net::RateLimitedLog log;
    log.write("accept: out of file descriptors; shedding new connections");
    spare_fd_.reset();
    net::UniqueFd(::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC));
    spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }

  void start_connection(tcp::socket socket, const asio::any_io_executor& executor) {
    const auto& workload = options_.workload;
    if (workload.workload == protocol::Workload::chat) {
      asio::co_spawn(executor, serve_chat(std::move(socket), chat_hub_, options_), log_exception);
      return;
    }
    protocol::with_session_factory(workload, [&](auto make_session) {
      asio::co_spawn(executor, serve_session(std::move(socket), make_session(), options_.idle_timeout),
                     log_exception);
    });
  }

  awaitable<void> watch_stop(backend::StopSignal& stop) {
    asio::posix::stream_descriptor stop_fd(control_, dup_or_throw(stop.fd()));
    std::error_code ec;
    co_await stop_fd.async_wait(asio::posix::descriptor_base::wait_read, asio::redirect_error(use_awaitable, ec));
    acceptor_.close(ec);
    io_.stop();
  }

  const backend::ServerOptions& options_;
  unsigned threads_;
  asio::io_context io_;  // first member: destroyed last, after everything that registered with it
  asio::any_io_executor control_;
  tcp::acceptor acceptor_;
  ChatHub chat_hub_;
  net::UniqueFd spare_fd_;
};

}  // namespace

void AsioBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  Server(listen_fd, options, 1).run(stop);
}

void AsioMtBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  Server(listen_fd, options, std::max(1u, options.worker_threads)).run(stop);
}

}  // namespace tvt::asio_backend
