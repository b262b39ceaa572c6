#pragma once
// The one connection loop shared by the threads and fiber back ends, for every workload: read, let the protocol
// session answer, send, repeat. Written once so that the threads and fiber models differ only in how they wait.
#include <chrono>

#include "blocking/blocking_stream.hpp"
#include "net/log.hpp"
#include "net/partial_request_deadline.hpp"
#include "protocol/session.hpp"

namespace tvt::blocking {

// Serves one connection until the peer closes, the session says close, or a request takes longer than
// `request_timeout` to arrive whole (slowloris; 0 = no limit). Idle timeouts between requests are the stream's.
template <BlockingStream Stream, protocol::Session Session>
void serve_connection(Stream& stream, Session session, std::chrono::milliseconds request_timeout) {
  net::PartialRequestDeadline deadline;
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
    if (deadline.overdue(session.has_partial(), request_timeout, "request")) return;
  }
}

}  // namespace tvt::blocking
