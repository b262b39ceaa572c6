#pragma once
// co_await timeout(d, task): runs `task` inside the current task; if it has not finished after `d`, it is stopped at
// its current suspension point (unwound, as if dropped) and std::system_error(errc::timed_out) is thrown.
// Nested timeouts: the outermost one that expired wins.
#include <chrono>
#include <system_error>
#include <utility>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/task_extras.hpp"
#include "coro/detail/timeout_scope.hpp"
#include "coro/task.hpp"
#include "reactor/reactor.hpp"

namespace tvt::coro {
namespace detail {

// Links `scope` into the current task and arms its timer; undoes both on destruction.
class TimeoutGuard {
 public:
  TimeoutGuard(TimeoutScope& scope, reactor::Clock::time_point deadline) : scope_(scope) {
    TaskHeader& me = require_current_task("timeout");
    scope.task = &me;
    scope.reactor = reactor::Reactor::current();
    TaskExtras& extras = extras_of(me);
    scope.outer = extras.timeouts;
    extras.timeouts = &scope;
    scope.reactor->add_timer(scope.timer, deadline, scope.waker);
  }
  ~TimeoutGuard() {
    scope_.task->extras_->timeouts = scope_.outer;  // made by the constructor
    scope_.reactor->cancel_timer(scope_.timer);  // exact: the wake cannot touch the scope after this
  }
  TimeoutGuard(const TimeoutGuard&) = delete;
  TimeoutGuard& operator=(const TimeoutGuard&) = delete;

 private:
  TimeoutScope& scope_;
};

}  // namespace detail

template <class Rep, class Period, class T>
Task<T> timeout(std::chrono::duration<Rep, Period> d, Task<T> task) {
  detail::TimeoutScope scope;
  {
    detail::TimeoutGuard guard(scope,
                               reactor::Clock::now() + std::chrono::duration_cast<reactor::Clock::duration>(d));
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(task);
        co_return;
      } else {
        co_return co_await std::move(task);
      }
    } catch (const detail::TimeoutInterrupt& interrupt) {
      if (interrupt.scope != &scope) throw;  // an outer timeout's: let it through
    }
  }
  throw std::system_error(std::make_error_code(std::errc::timed_out), "coro::timeout");
}

}  // namespace tvt::coro
