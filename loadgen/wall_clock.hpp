#pragma once
// The wall clock a fleet run agrees on (--start-at): every rank and the probe read their own host's CLOCK_REALTIME,
// kept in sync across hosts by NTP/PTP (shared on one machine).
#include <atomic>

namespace tvt::loadgen {

double wall_clock_s();  // Unix seconds, ns resolution
// Sleeps until the Unix instant `at` (at once if it has passed); a signal that sets `stop` ends the wait.
void sleep_until_wall(double at, const std::atomic<bool>& stop);

}  // namespace tvt::loadgen
