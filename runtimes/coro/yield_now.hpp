#pragma once
// co_await yield_now(): lets the other runnable tasks of this thread run, then continues (a cancellation point).
#include <coroutine>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"

namespace tvt::coro {

struct YieldNow {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> resume) {
    detail::TaskHeader& me = detail::require_current_task("yield_now");
    detail::park_current(me, resume, nullptr, nullptr);
    me.wake();  // RUNNING: marks it NOTIFIED, so the runner requeues it at the back once it has suspended
  }
  void await_resume() { detail::throw_if_interrupted(*detail::current_task()); }
};

inline YieldNow yield_now() noexcept { return {}; }

}  // namespace tvt::coro
