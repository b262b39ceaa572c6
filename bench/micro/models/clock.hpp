#pragma once
// The one clock every micro benchmark reads: the phase a benchmark is about is timed inside the model, so that start-up
// (a runtime's run loop, an io_context's first poll) is not charged to the operation being measured.
#include <chrono>

namespace tvt::micro {

using Clock = std::chrono::steady_clock;
using Nanoseconds = std::chrono::nanoseconds;

inline Nanoseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<Nanoseconds>(Clock::now() - start);
}

}  // namespace tvt::micro
