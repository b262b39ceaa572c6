#pragma once
// The one connection loop shared by the threads and fiber back ends, for every workload: read, let the protocol
// session answer, send, repeat. Written once so that the threads and fiber models differ only in how they wait.
#include <chrono>

#include "blocking/blocking_stream.hpp"
#include "net/log.hpp"
#include "protocol/session.hpp"

namespace tvt::blocking {

// Serves one connection until the peer closes, the session says close, or a request takes longer than
// `request_timeout` to arrive whole (slowloris; 0 = no limit). Idle timeouts between requests are the stream's.
template <BlockingStream Stream, protocol::Session Session>
void serve_connection(Stream& stream, Session session, std::chrono::milliseconds request_timeout) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point partial_since{};
  for (;;) {
    const auto in = stream.read();
    if (in.empty()) return;
    const auto verdict = session.consume(in, stream.out());
    if (!stream.out().empty() && !stream.flush()) return;
    if (verdict == protocol::Verdict::close) {
      if (!session.close_reason().empty()) {
        static net::RateLimitedLog log;
        log.write("closing a connection: %.*s", static_cast<int>(session.close_reason().size()),
                  session.close_reason().data());
      }
      return;
    }
    // The clock is read only while a request is half-received, which a benchmark client never leaves it in.
    if (request_timeout.count() > 0 && session.has_partial()) {
      const auto now = Clock::now();
      if (partial_since == Clock::time_point{}) {
        partial_since = now;
      } else if (now - partial_since > request_timeout) {
        static net::RateLimitedLog log;
        log.write("closing a connection: request not received whole within %lld ms",
                  static_cast<long long>(request_timeout.count()));
        return;
      }
    } else {
      partial_since = {};
    }
  }
}

}  // namespace tvt::blocking
