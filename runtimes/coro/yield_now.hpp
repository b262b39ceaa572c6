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
    // The runner sees `yielded` and puts the task at the back of its own queue, still RUNNING: no wake, no atomic
    // read-modify-write (task_header.hpp). Other wakes meanwhile only set NOTIFIED.
    me.resume_point_ = resume;  // park_current without the leaf: the runner never calls `yielded`
    me.poll_fn_ = &detail::yielded;
  }
  // The cancellation and timeout check: two loads inline, the rest one out-of-line call (timeout_scope.hpp).
  void await_resume() { detail::throw_if_interrupted_fast(*detail::running_task); }
};

inline YieldNow yield_now() noexcept { return {}; }

}  // namespace tvt::coro
