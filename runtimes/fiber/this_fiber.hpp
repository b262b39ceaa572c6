#pragma once
// What a fiber can do to itself: yield, sleep, know its id. All of these require a fiber (std::logic_error
// otherwise). Sleeping parks only the fiber; std::this_thread::sleep_for would block the whole worker.
#include <chrono>
#include <cstdint>

#include "reactor/timer.hpp"

namespace tvt::fiber::this_fiber {

// Lets the other ready fibers of this worker run; this fiber goes to the back of the queue.
void yield();
void sleep_until(reactor::Clock::time_point deadline);
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  sleep_until(reactor::Clock::now() + std::chrono::ceil<reactor::Clock::duration>(d));
}
// 1, 2, ... unique per scheduler; 0 when not on a fiber.
std::uint64_t id();
// True when the caller runs on a fiber.
bool on_fiber();

}  // namespace tvt::fiber::this_fiber
