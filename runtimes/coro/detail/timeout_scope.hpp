#pragma once
// One active `timeout(d, task)` around the current await, linked into its task (innermost first).
//
// Invariants: a scope is pushed and popped by its task's runner (LIFO, like the C++ scopes that own them); `expired_`
// is set once, by the reactor's timer wake (any thread), and read by the runner. The timer is cancelled (exactly, see
// reactor.hpp) before the scope dies, so the wake never touches a dead scope.
#include <atomic>

#include "coro/detail/task_header.hpp"
#include "reactor/reactor.hpp"

namespace tvt::coro::detail {

struct TimeoutScope {
  TimeoutScope* outer = nullptr;
  TaskHeader* task = nullptr;
  reactor::Reactor* reactor = nullptr;
  std::atomic<bool> expired{false};
  reactor::TimerEntry timer;
  reactor::Waker waker{[](void* self) {
                         auto* scope = static_cast<TimeoutScope*>(self);
                         // release: the runner that sees `expired` (acquire) also sees the task's state.
                         scope->expired.store(true, std::memory_order_release);
                         scope->task->wake();
                       },
                       this};
};

// Thrown at a suspension point when a timeout scope expired; its own timeout() turns it into a timed_out error.
struct TimeoutInterrupt {
  const TimeoutScope* scope;
};

// Throws TaskCancelled, or TimeoutInterrupt for the outermost expired scope (task_header.cpp).
[[noreturn]] void throw_interrupted(TaskHeader& task);

// If the current task must stop (cancelled, or a timeout expired), throws TaskCancelled or TimeoutInterrupt for the
// outermost expired scope. Called by every leaf awaiter when it resumes without having completed its operation.
inline void throw_if_interrupted(TaskHeader& task) {
  if (task.interrupted()) [[unlikely]]
    throw_interrupted(task);
}

// throw_if_interrupted for a resume on the hot path (a yield): the common answer (neither CANCELLED nor EXTRAS) is
// one load and a test inline; anything else is one out-of-line call that keeps nothing of the caller's live across
// it, so the awaiting coroutine saves no register for it on every resume (task_header.cpp).
void throw_if_interrupted_slow(TaskHeader& task);
[[gnu::always_inline]] inline void throw_if_interrupted_fast(TaskHeader& task) {
  if (task.may_be_interrupted()) [[unlikely]]
    throw_if_interrupted_slow(task);
}

}  // namespace tvt::coro::detail
