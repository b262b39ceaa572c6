#pragma once
// The server's error log: stderr, one line per event, and at most one line per second per call site so that a flood
// of bad clients cannot turn logging into the bottleneck being measured. Suppressed lines are counted and reported.
#include <atomic>
#include <cstdint>

namespace tvt::net {

class RateLimitedLog {
 public:
  // printf-style; thread-safe. Lines are prefixed "server: ".
  [[gnu::format(printf, 2, 3)]] void write(const char* format, ...);

 private:
  // Relaxed is enough: the log only needs "roughly once a second", not ordering with other memory.
  std::atomic<std::int64_t> last_ns_{-1'000'000'000'000};
  std::atomic<std::uint64_t> suppressed_{0};
};

// strerror without the thread-safety trap of strerror().
const char* strerror_safe(int err);

}  // namespace tvt::net
