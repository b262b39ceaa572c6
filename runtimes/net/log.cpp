#include "net/log.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace tvt::net {
namespace {

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

void RateLimitedLog::write(const char* format, ...) {
  const auto now = now_ns();
  auto last = last_ns_.load(std::memory_order_relaxed);
  if (now - last < 1'000'000'000 || !last_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  char line[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  const auto suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
  if (suppressed > 0) {
    std::fprintf(stderr, "server: %s (%llu similar suppressed)\n", line, static_cast<unsigned long long>(suppressed));
  } else {
    std::fprintf(stderr, "server: %s\n", line);
  }
}

const char* strerror_safe(int err) {
  // sigabbrev_np/strerrorname_np need glibc 2.32 (Debian 12 has 2.36); fall back to the number if unknown.
  const char* name = ::strerrorname_np(err);
  return name != nullptr ? name : "unknown error";
}

}  // namespace tvt::net
