// Invariants: detail/io_wait.hpp.
#include "fiber/detail/io_wait.hpp"

#include <atomic>

#include "fiber/detail/worker.hpp"

namespace tvt::fiber::detail {
namespace {

// `state`: bit 0 ARMED (the hook finished arming), bit 1 FIRED (a source won), bits 2-3 the winner's result.
// The hook may still be arming other sources when a first one fires on another thread, so whichever of the two
// comes second -- the firing source or the hook setting ARMED -- calls make_ready; nothing touches the IoWait
// from the hook after ARMED is set.
struct IoWait {
  static constexpr unsigned armed = 1, fired = 2;

  Context* fiber;
  reactor::Registration* reg;
  reactor::Direction dir;
  std::optional<reactor::Clock::time_point> deadline;
  reactor::Registration* cancel;
  std::atomic<unsigned> state{0};
  reactor::Waker io_waker{}, timer_waker{}, cancel_waker{};
  reactor::TimerEntry timer{};

  void fire(IoWaitResult why) {
    unsigned s = state.load();
    for (;;) {
      if (s & fired) return;
      if (state.compare_exchange_weak(s, s | fired | (static_cast<unsigned>(why) << 2))) break;
    }
    if (s & armed) make_ready(fiber);
  }
  void finish_arming() {
    if (state.fetch_or(armed) & fired) make_ready(fiber);
  }
  IoWaitResult result() const { return static_cast<IoWaitResult>(state.load() >> 2); }
};

}  // namespace

IoWaitResult wait_io(reactor::Registration& reg, reactor::Direction dir,
                     std::optional<reactor::Clock::time_point> deadline, reactor::Registration* cancel_on_readable) {
  Worker& w = require_fiber("socket I/O");
  IoWait wait{w.current, &reg, dir, deadline, cancel_on_readable};
  wait.io_waker = {[](void* p) { static_cast<IoWait*>(p)->fire(IoWaitResult::ready); }, &wait};
  wait.timer_waker = {[](void* p) { static_cast<IoWait*>(p)->fire(IoWaitResult::timed_out); }, &wait};
  wait.cancel_waker = {[](void* p) { static_cast<IoWait*>(p)->fire(IoWaitResult::cancelled); }, &wait};
  w.uses_reactor = true;
  park(
      [](void* p, Context*) {
        auto* iw = static_cast<IoWait*>(p);
        if (iw->deadline) iw->reg->reactor()->add_timer(iw->timer, *iw->deadline, iw->timer_waker);
        if (iw->cancel != nullptr && !iw->cancel->park(reactor::Direction::read, iw->cancel_waker)) {
          iw->fire(IoWaitResult::cancelled);
        } else if (!iw->reg->park(iw->dir, iw->io_waker)) {
          iw->fire(IoWaitResult::ready);
        }
        iw->finish_arming();  // last touch of *iw on this side
      },
      &wait);
  reg.unpark(dir, wait.io_waker);
  if (cancel_on_readable != nullptr) cancel_on_readable->unpark(reactor::Direction::read, wait.cancel_waker);
  if (deadline) reg.reactor()->cancel_timer(wait.timer);
  return wait.result();
}

}  // namespace tvt::fiber::detail
