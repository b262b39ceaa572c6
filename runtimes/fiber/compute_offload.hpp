#pragma once
// The compute protocol with the digest run through spawn_blocking (server --offload): a long computation parks only
// its own fiber, and the worker keeps serving the other connections. Same wire behaviour as protocol::ComputeSession.
//
// consume() parks, so it must run over a stream with Buffers::per_connection: `in` and `out` then stay the
// connection's own while the fiber is parked (a per-worker scratch would be reused, or be another thread's, by then).
#include <string>
#include <string_view>

#include "fiber/spawn_blocking.hpp"
#include "protocol/chat.hpp"
#include "protocol/compute.hpp"
#include "protocol/line_splitter.hpp"
#include "protocol/session.hpp"

namespace tvt::fiber {

class OffloadingComputeSession {
 public:
  explicit OffloadingComputeSession(const protocol::Limits& limits) : lines_(limits.max_line_bytes) {}

  protocol::Verdict consume(std::string_view in, std::string& out) {
    std::string_view line;
    protocol::LineSplitter::Status status;
    while ((status = lines_.next(in, line)) == protocol::LineSplitter::Status::line) {
      const auto request = protocol::parse_compute_line(line);
      if (!request.kib) {
        protocol::append_error(out, request.reason);
        continue;
      }
      const auto kib = *request.kib;
      protocol::append_digest(out, spawn_blocking([kib] { return protocol::compute_digest(kib); }));
    }
    if (status == protocol::LineSplitter::Status::too_long) {
      close_reason_ = "compute line over the limit";
      return protocol::Verdict::close;
    }
    return protocol::Verdict::keep_open;
  }
  std::string_view close_reason() const { return close_reason_; }
  bool has_partial() const { return lines_.has_partial(); }

 private:
  protocol::LineSplitter lines_;
  std::string_view close_reason_;
};
static_assert(protocol::Session<OffloadingComputeSession>);

}  // namespace tvt::fiber
