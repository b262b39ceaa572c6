#include "loadgen/send_wait.hpp"

#include <algorithm>

namespace tvt::loadgen {

std::int64_t wait_timeout_ns(std::int64_t now_ns, std::int64_t wake_ns, std::int64_t next_send_ns,
                             std::int64_t spin_ns) {
  // next_send_ns may be INT64_MAX (never): compare before subtracting so nothing overflows.
  const std::int64_t spin_from = next_send_ns - std::min(spin_ns, next_send_ns - now_ns);
  return std::max<std::int64_t>(0, std::min(wake_ns, spin_from) - now_ns);
}

}  // namespace tvt::loadgen
