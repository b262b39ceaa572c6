#include "loadgen/wall_clock.hpp"

#include <time.h>

#include <cerrno>

namespace tvt::loadgen {

double wall_clock_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void sleep_until_wall(double at, const std::atomic<bool>& stop) {
  const auto whole = static_cast<time_t>(at);
  timespec ts{whole, static_cast<long>((at - static_cast<double>(whole)) * 1e9)};
  // TIMER_ABSTIME on CLOCK_REALTIME: a clock step while asleep moves the wake-up with it, as --start-at means.
  while (!stop.load() && ::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

}  // namespace tvt::loadgen
