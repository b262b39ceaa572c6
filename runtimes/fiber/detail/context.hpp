#pragma once
// What the scheduler knows about anything it can switch to: a fiber, or a worker thread's own (main) context.
//
// Invariants
// - `continuation` holds the saved context while the owner is suspended and is empty while it runs. It is written
//   only by the context that runs right after the owner switched away (the after-switch hook), so a context becomes
//   visible to wakers only after its continuation is saved (see worker.hpp, "parking").
// - `next_in_list` links the context into at most one list at a time: a worker's run queue, the scheduler's
//   injection queue, or one wait list of a sync primitive. A context popped from a list may keep a stale link.
// - `landing` is written by whoever switches to this context, right before the jump, on the same thread, and read
//   by this context first thing after it lands (worker.hpp, complete_switch). Kept in the target, not in the
//   worker, so that the landing side finds it through its own `this`/self without asking for its worker again.
#include <boost/context/fiber.hpp>
#include <cstddef>
#include <cstdint>

namespace tvt::fiber {
class Scheduler;
}

namespace tvt::fiber::detail {

struct Context;
// Runs on the context that lands after `parked` switched away; `parked`'s continuation is already saved.
using AfterSwitchFn = void (*)(void* arg, Context* parked);

// What switching away from a context must check, in one byte so that yield tests "a fiber on a guarded stack?" once
// for both rare cases: a worker's own context (`main`: not a fiber, may not yield) and a fiber on an unguarded
// (canary) stack, whose canary is checked at every switch away.
enum class ContextKind : std::uint8_t { worker, guarded_fiber, canary_fiber };

struct Context {
  boost::context::fiber continuation;
  Context* next_in_list = nullptr;
  Scheduler* scheduler = nullptr;
  std::uint64_t id = 0;  // 0: a worker's own context; fibers count from 1
  ContextKind kind = ContextKind::worker;
  // The switch that lands here: the context left behind (a worker's `dead_end` if it died) and the hook to run for
  // it; `arg` is written and read only with a hook.
  struct Landing {
    Context* previous = nullptr;
    AfterSwitchFn hook = nullptr;
    void* arg = nullptr;
  } landing;

  // Sanitizer bookkeeping: the stack this context runs on (ASan needs it at every switch), ASan's fake-stack handle
  // while suspended, and TSan's fiber handle. Four words; unused in plain builds.
  const void* stack_bottom = nullptr;
  std::size_t stack_size_bytes = 0;
  void* asan_fake_stack = nullptr;
  void* tsan_fiber = nullptr;
};

}  // namespace tvt::fiber::detail
