#pragma once
// What a fiber can do to itself: yield, sleep, know its id. All of these require a fiber (std::logic_error
// otherwise). Sleeping parks only the fiber; std::this_thread::sleep_for would block the whole worker.
#include <chrono>
#include <cstdint>

#include "fiber/detail/worker.hpp"
#include "reactor/timer.hpp"

namespace tvt::fiber::this_fiber {

// Lets the other ready fibers of this worker run; this fiber goes to the back of the queue. Inline, so that the
// switch lands in the caller's frame (see Worker::switch_away).
inline void yield() {
  detail::Worker* w = detail::current_worker();
  if (w == nullptr) [[unlikely]]
    detail::require_fiber("yield");  // throws
  detail::Context* self = w->current;
  // One test for both rare kinds: not a fiber (throws) and a canary-mode stack (checked, as at every switch away).
  if (self->kind != detail::ContextKind::guarded_fiber) [[unlikely]]
    detail::check_unusual_context(self, "yield");
  // Re-queued before the switch, without an after-switch hook: the local run queue is only touched by this thread,
  // and nothing on this thread can hand it to another worker (work sharing) before the switch has saved us.
  detail::Context* next = w->pick_next();
  w->ready.push_back(self);
  w->jump(self, next, nullptr, nullptr);  // the canary, if any, is checked above
}
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
