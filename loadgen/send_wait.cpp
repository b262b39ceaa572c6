#include "loadgen/send_wait.hpp"

#include <algorithm>

namespace tvt::loadgen {

std::int64_t wait_timeout_ns(std::int64_t now_ns, std::int64_t wake_ns, std::int64_t next_send_ns,
                             std::int64_t spin_ns) {
  // next_send_ns may be INT64_MAX (never): compare before subtracting so nothing overflows.
  const std::int64_t spin_from = next_send_ns - std::min(spin_ns, next_send_ns - now_ns);
  return std::max<std::int64_t>(0, std::min(wake_ns, spin_from) - now_ns);
}

std::int64_t spin_window_ns(double spin_us, std::uint32_t engine_threads, int cpus_allowed) {
  if (engine_threads == 0 || static_cast<std::int64_t>(engine_threads) > cpus_allowed) return 0;
  return static_cast<std::int64_t>(spin_us * 1000);
}

}  // namespace tvt::loadgen
