#pragma once
// One worker thread of a Scheduler: its run queue, its reactor, its stack cache, and the switching machinery.
//
// Switching and parking
// - Exactly one context runs on a worker at a time: `current`. Switching from `current` to `next` stores a
//   Landing record in `next` (context.hpp), jumps, and the context that lands (`next`) runs complete_switch() first:
//   it stores the previous context's continuation and then runs the record's hook. So when a hook publishes the
//   previous fiber (pushes it on a queue, unlocks the spinlock guarding a wait list, parks it in a reactor slot),
//   the fiber's context is already saved, and a waker on another thread that resumes it at once is safe.
// - The worker's own context (`main`, the thread's stack) runs the loop: it runs ready fibers, polls the reactor and
//   sleeps in it when there is nothing to do. A parking fiber switches straight to the next ready fiber; it goes
//   through `main` only when its worker's queue is empty or every `main_interval` switches (to poll I/O and the
//   injection queue fairly; a pass that would find neither I/O registered nor fibers injected is skipped). Reactor
//   polling therefore never runs on a fiber's stack.
// - After a switch a fiber may be on another worker: code re-reads current_worker() (a non-inlined call, so the
//   compiler cannot reuse a thread_local address computed before the switch) and never keeps a Worker& across one.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include "fiber/detail/context.hpp"
#include "fiber/detail/intrusive_list.hpp"
#include "fiber/detail/sanitizer.hpp"
#include "fiber/stack_pool.hpp"
#include "reactor/reactor.hpp"

namespace tvt::fiber {
class Scheduler;
}

namespace tvt::fiber::detail {

class Worker {
 public:
  Worker(Scheduler& scheduler, unsigned index, StackPool& pool);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The loop of the worker's thread; returns when the scheduler is done.
  void run();
  // From `current`: jump to `next`; `hook(arg, previous)` runs on `next` once previous's context is saved.
  // Returns when the caller is resumed, possibly on another worker. Inline on purpose: a switch buried in a
  // function that must return after landing costs a mispredicted return per frame (the return-stack buffer still
  // holds the other fiber's addresses), which is most of a switch's price.
  // `self` is `current`, passed in by callers that hold it in a register (re-reading `current` after the run-queue
  // stores, which the compiler must assume alias it, costs a load each).
  inline void switch_away(Context* self, Context* next, AfterSwitchFn hook, void* arg);
  // switch_away without its canary check, for a caller that has made it (yield).
  inline void jump(Context* self, Context* next, AfterSwitchFn hook, void* arg);
  // What a parking fiber switches to: the next ready fiber, or `main`.
  inline Context* pick_next();
  void share_surplus();  // Scheduler::share(*this), out of line
  // At a pass due through `main` with fibers still ready: does `main` have anything to do (poll I/O, take injected
  // fibers)? If not, the pass is skipped: it would only pop the next fiber, as pick_next does. Out of line (rare).
  bool main_has_work() const;

  Scheduler& scheduler;
  const unsigned index;
  // The scheduler's count of idle workers. Relaxed reads: a hint, re-read at every switch point (scheduler.hpp).
  const std::atomic<std::size_t>* idle_workers;
  reactor::Reactor reactor;
  StackCache stacks;
  Context main;
  Context* current = &main;
  // Stands for a fiber that died, as the `previous` of the switch away from it: the landing side then stores the
  // (empty) continuation here like any other, with no "did it die?" test on every switch. Written only on this
  // worker's thread; never run.
  Context dead_end;
  ContextList ready;
  // Counts down to the next pass through `main` (then reset to main_interval): a decrement and a branch per switch.
  unsigned switches_until_main = main_interval;
  bool uses_reactor = false;  // set once an fd or timer is registered here: only then does `main` poll while busy
  std::uint64_t fibers_created = 0;
  bool idle = false;          // under the scheduler's mutex
  // TSan builds only (detail/sanitizer.hpp): `main` must announce the switch when it lands after a dying fiber,
  // and destroy that fiber's TSan handle afterwards.
  bool landing_after_dying_fiber = false;
  void* dead_tsan_fiber = nullptr;

  // Per-worker scratch for blocking-style streams (socket_stream.hpp): a fiber reads into it and its replies are
  // built in it, so an idle connection's fiber owns no buffer. Valid until the fiber's next switch.
  static constexpr std::size_t read_scratch_bytes = 16 * 1024;
  std::unique_ptr<char[]> read_scratch;
  std::string out_scratch;

  static constexpr unsigned main_interval = 61;
};

// The worker of the calling thread, or nullptr. Deliberately not inlined (see above).
Worker* current_worker();
// First thing after landing from a switch, on the context that landed (`self`): stores the previous context's
// continuation and runs the Landing hook. Inline (it runs at every switch); it needs no worker, so a landing costs
// no current_worker() call.
inline void complete_switch(Context& self, boost::context::fiber&& from) {
  // Never null: a fiber that died names its worker's `dead_end` (its `from` is empty).
  Context* previous = self.landing.previous;
  // Constructed over the previous context's continuation, not assigned: that one is empty (the context was
  // running), so there is nothing to destroy, and a move-assignment or swap would test and destroy the old value.
  ::new (static_cast<void*>(&previous->continuation)) boost::context::fiber(std::move(from));
  // `arg` is read only when there is a hook: a hookless switch (yield, the worker loop) does not write it.
  if (const AfterSwitchFn hook = self.landing.hook) hook(self.landing.arg, previous);
}
void check_canary_slow(Context* self);
// The rare kinds at a switch away, out of line: throws std::logic_error naming `what` if `self` is a worker's own
// context, else (a canary-mode fiber) checks the canary.
void check_unusual_context(Context* self, const char* what);

inline Context* Worker::pick_next() {
  if (ready.empty() || --switches_until_main == 0) [[unlikely]] {
    switches_until_main = main_interval;
    if (ready.empty() || main_has_work()) return &main;
  }
  Context* next = ready.pop_front();
  // Still more ready after the one we take: share them if a worker is idle.
  if (!ready.empty() && idle_workers->load(std::memory_order_relaxed) != 0) [[unlikely]]
    share_surplus();
  return next;
}

inline void Worker::switch_away(Context* self, Context* next, AfterSwitchFn hook, void* arg) {
  // Only canary-mode stacks (no guard page) pay for the check; the main context has no canary.
  if (self->kind == ContextKind::canary_fiber) [[unlikely]]
    check_canary_slow(self);
  jump(self, next, hook, arg);
}

inline void Worker::jump(Context* self, Context* next, AfterSwitchFn hook, void* arg) {
  next->landing.previous = self;
  next->landing.hook = hook;
  if (hook != nullptr) next->landing.arg = arg;  // folded away where the hook is a constant (always, when inlined)
  current = next;
  sanitizer::start_switch(*self, *next);
  boost::context::fiber from = std::move(next->continuation).resume();
  // Resumed, maybe on another worker: `this` is stale from here on.
  sanitizer::finish_switch(*self);
  if constexpr (sanitizer::dying_fiber_returns_to_worker) {
    // TSan: announced here, in this frame, not inside a callee (whose entry TSan would record on the dead fiber's
    // shadow stack and whose exit on ours).
    Worker* landed = current_worker();
    if (landed->landing_after_dying_fiber) {
      landed->landing_after_dying_fiber = false;
      sanitizer::landed_after_dying_fiber(*self, landed->dead_tsan_fiber);
    }
  }
  complete_switch(*self, std::move(from));
}
// The running fiber (or worker context) of the calling thread; requires a worker.
Context* current_context();
// Suspends the calling fiber; `hook(arg, self)` runs once its context is saved and must make sure something will
// wake it (or wake it itself). Requires a fiber. Inline, like switch_away: an out-of-line park returns through its
// own frame after every switch, a return the return-stack buffer mispredicts. `w` is the caller's worker, read
// before the switch (e.g. from require_fiber).
inline void park(Worker& w, AfterSwitchFn hook, void* arg) {
  Context* self = w.current;
  w.switch_away(self, w.pick_next(), hook, arg);
}
inline void park(AfterSwitchFn hook, void* arg) { park(*current_worker(), hook, arg); }
// Makes a parked context runnable: on the calling worker if it belongs to the same scheduler, else injected. Any
// thread; each park must be answered by exactly one make_ready.
void inject_context(Context* context);  // the other case, out of line: the scheduler's injection queue
inline void make_ready(Context* context) {
  Worker* w = current_worker();
  if (w != nullptr && &w->scheduler == context->scheduler) [[likely]] {
    w->ready.push_back(context);
  } else {
    inject_context(context);
  }
}
// A Waker function for reactor wakers whose context is a Context*.
void wake_context(void* context);
// Throws std::logic_error unless the caller runs on a fiber.
Worker& require_fiber(const char* what);

}  // namespace tvt::fiber::detail
