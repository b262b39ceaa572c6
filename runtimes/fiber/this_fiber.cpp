#include "fiber/this_fiber.hpp"

#include "fiber/detail/worker.hpp"

namespace tvt::fiber::this_fiber {

void sleep_until(reactor::Clock::time_point deadline) {
  detail::Worker& w = detail::require_fiber("sleep");
  struct Sleeper {
    reactor::TimerEntry entry;
    reactor::Waker waker;
    reactor::Reactor* reactor;
    reactor::Clock::time_point deadline;
  } sleeper;
  sleeper.waker = {&detail::wake_context, w.current};
  sleeper.reactor = &w.reactor;
  sleeper.deadline = deadline;
  w.uses_reactor = true;
  // Armed after the switch, so that the timer cannot fire before this fiber's context is saved.
  detail::park(
      [](void* arg, detail::Context*) {
        auto* s = static_cast<Sleeper*>(arg);
        s->reactor->add_timer(s->entry, s->deadline, s->waker);
      },
      &sleeper);
}

std::uint64_t id() {
  detail::Worker* w = detail::current_worker();
  return w == nullptr ? 0 : w->current->id;
}

bool on_fiber() {
  detail::Worker* w = detail::current_worker();
  return w != nullptr && w->current != &w->main;
}

}  // namespace tvt::fiber::this_fiber
