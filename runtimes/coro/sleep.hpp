#pragma once
// co_await sleep(d) / sleep_until(t): parks the task on the current thread's reactor timer (no thread blocks).
#include <chrono>
#include <coroutine>
#include <stdexcept>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"
#include "reactor/reactor.hpp"

namespace tvt::coro {

class [[nodiscard]] Sleep {
 public:
  explicit Sleep(reactor::Clock::time_point deadline) noexcept : deadline_(deadline) {}

  bool await_ready() const noexcept { return reactor::Clock::now() >= deadline_; }
  bool await_suspend(std::coroutine_handle<> resume) {
    detail::TaskHeader& me = detail::require_current_task("sleep");
    if (me.interrupted()) return false;
    reactor_ = reactor::Reactor::current();
    if (reactor_ == nullptr) throw std::logic_error("coro::sleep: no reactor on this thread");
    waker_ = {&detail::TaskHeader::wake_fn, &me};
    reactor_->add_timer(timer_, deadline_, waker_);
    detail::park_current(me, resume, &poll, this);
    return true;
  }
  void await_resume() {
    // Early (woken by cancel/timeout, or interrupted before parking): a cancellation point either way.
    if (reactor::Clock::now() < deadline_) detail::throw_if_interrupted(*detail::current_task());
  }

 private:
  static bool poll(void* leaf, detail::TaskHeader& me) noexcept {
    auto* self = static_cast<Sleep*>(leaf);
    if (reactor::Clock::now() < self->deadline_ && !me.interrupted()) return false;  // spurious
    self->reactor_->cancel_timer(self->timer_);  // exact: after this the entry may die with the frame
    return true;
  }

  reactor::Clock::time_point deadline_;
  reactor::Reactor* reactor_ = nullptr;
  reactor::Waker waker_;
  reactor::TimerEntry timer_;
};

inline Sleep sleep_until(reactor::Clock::time_point deadline) noexcept { return Sleep(deadline); }
template <class Rep, class Period>
Sleep sleep(std::chrono::duration<Rep, Period> d) noexcept {
  return Sleep(reactor::Clock::now() + std::chrono::duration_cast<reactor::Clock::duration>(d));
}

}  // namespace tvt::coro
