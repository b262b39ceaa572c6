#pragma once
// Compute with --offload on the coroutine runtime: each digest runs on the spawn_blocking pool and the connection
// task awaits it, so a large request parks only its own task and the worker keeps serving the others (the fix for
// the seed's "long computation between awaits"). Same wire behaviour as protocol::ComputeSession.
// Reads go into the task's own small buffer: the task suspends between lines and may resume on another worker.
#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <system_error>

#include "coro/spawn_blocking.hpp"
#include "coro/task.hpp"
#include "coro/tcp_stream.hpp"
#include "net/log.hpp"
#include "protocol/chat.hpp"
#include "protocol/compute.hpp"
#include "protocol/limits.hpp"
#include "protocol/line_splitter.hpp"

namespace tvt::coro {

inline Task<void> serve_compute_offloaded(TcpStream stream, protocol::Limits limits,
                                          std::chrono::milliseconds idle_timeout) {
  protocol::LineSplitter lines(limits.max_line_bytes);
  std::array<char, 1024> buffer;  // uninitialised on purpose
  std::string out;
  try {
    bool drained = false;
    for (;;) {
      if (drained) co_await stream.readable(idle_timeout);  // throws timed_out after idle_timeout of silence
      const auto n = stream.try_read(buffer);
      if (!n) {
        drained = true;
        continue;
      }
      if (*n == 0) co_return;
      drained = *n < buffer.size();
      std::string_view in(buffer.data(), *n), line;
      protocol::LineSplitter::Status status;
      while ((status = lines.next(in, line)) == protocol::LineSplitter::Status::line) {
        const auto request = protocol::parse_compute_line(line);
        if (!request.kib) {
          protocol::append_error(out, request.reason);
          continue;
        }
        const auto kib = *request.kib;
        protocol::append_digest(out, co_await spawn_blocking([kib] { return protocol::compute_digest(kib); }));
      }
      if (!out.empty()) {
        co_await stream.write_all(out, idle_timeout);
        out.clear();
      }
      if (status == protocol::LineSplitter::Status::too_long) {
        static net::RateLimitedLog log;
        log.write("closing a connection: compute line over the limit");
        co_return;
      }
    }
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::connection_reset && e.code() != std::errc::timed_out &&
        e.code() != std::errc::broken_pipe) {
      static net::RateLimitedLog log;
      log.write("connection error: %s", e.what());
    }
  }
}

}  // namespace tvt::coro
