#pragma once
// The slowloris rule every back end applies: a request (an HTTP header section, a chat line) may take at most
// `limit` to arrive whole once its first byte is in. Idle time *between* requests is the streams' idle timeout.
// The clock is read only while a request is half-received, which a benchmark client never leaves it in.
#include <chrono>
#include <string_view>

#include "net/log.hpp"

namespace tvt::net {

class PartialRequestDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  // Call after each read. True: the request half-received now has been arriving for longer than `limit` (logged,
  // naming `what`); the caller closes the connection. `limit` 0 = no limit. The limit is passed in rather than
  // stored: the callers hold it already, and a coroutine keeps this object in its frame per connection.
  bool overdue(bool has_partial, std::chrono::milliseconds limit, std::string_view what) {
    if (limit.count() <= 0 || !has_partial) {
      since_ = {};
      return false;
    }
    const auto now = Clock::now();
    if (since_ == Clock::time_point{}) {
      since_ = now;
      return false;
    }
    if (now - since_ <= limit) return false;
    static RateLimitedLog log;
    log.write("closing a connection: %.*s not received whole within %lld ms", static_cast<int>(what.size()),
              what.data(), static_cast<long long>(limit.count()));
    return true;
  }

 private:
  Clock::time_point since_{};  // when the current partial request was first seen; {} = none
};

}  // namespace tvt::net
