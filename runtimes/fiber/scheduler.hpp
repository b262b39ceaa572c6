#pragma once
// The fiber scheduler: N worker threads (the caller of block_on is worker 0), each with a run queue and a reactor.
//
//   tvt::fiber::Scheduler scheduler({.workers = 2});
//   int answer = scheduler.block_on([] { auto h = tvt::fiber::spawn([] { return 42; }); return h.join(); });
//
// Invariants
// - Each worker owns its run queue (no lock): only its thread pushes and pops. Other threads hand a fiber to the
//   scheduler through the injection queue (under `mutex_`) and notify an idle worker's reactor.
// - A fiber becomes visible to wakers (queues, wait lists, reactor slots) only after its context is saved: parking
//   publishes it from the after-switch hook, which runs on the next context (see detail/worker.hpp).
// - Work sharing: a worker with two or more ready fibers, seeing an idle worker, moves half of its queue to the
//   injection queue and notifies the idle worker. Fibers therefore migrate between workers at switch points; code
//   on a fiber must not cache thread_local addresses across a switch.
// - Waking an idle worker: a worker joins `idle_` under `mutex_` only after finding the injection queue empty
//   (prepare_idle), then sleeps in reactor.poll(-1). Whoever adds work pops it from `idle_` under the same mutex and
//   calls reactor.notify(), which makes the current OR the next poll return; so work added between "queue empty" and
//   "asleep in epoll_wait" is never slept through -- as long as the reactor never swallows a notify (it once did:
//   fiber-mt hung in about 1 run in 15, fixed in the reactor; tests/unit/fiber_scheduler_test.cpp stresses it).
// - `live_` counts fibers not yet finished. block_on returns once the root fiber AND every other fiber finished:
//   the last fiber to finish sets `done_` and notifies every worker. Shutdown order: workers leave their loops ->
//   worker threads are joined -> block_on returns the root's result. Workers and stacks are freed by ~Scheduler.
// - A fiber that calls a truly blocking function (sleep(3), a blocking read, a long computation) blocks its worker
//   and every fiber queued on it: use spawn_blocking for such calls.
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "fiber/detail/fiber_base.hpp"
#include "fiber/detail/intrusive_list.hpp"
#include "fiber/stack_pool.hpp"

namespace tvt::fiber {

namespace detail {
class Worker;
}

class Scheduler {
 public:
  struct Options {
    unsigned workers = 1;
    std::size_t stack_size_bytes = 64 * 1024;  // usable bytes per fiber stack; a guard page comes on top
    StackPool::GuardPolicy guard_policy = StackPool::GuardPolicy::automatic;
  };

  explicit Scheduler(Options options);
  Scheduler() : Scheduler(Options{}) {}
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler();

  // Runs `f` as the root fiber on these workers and returns its result (or rethrows its exception) once the root
  // and every fiber it spawned have finished. Not re-entrant: call it from a thread that is not a fiber worker.
  template <class F>
  std::invoke_result_t<std::decay_t<F>&> block_on(F&& f) {
    Entered entered(*this);
    auto* root = detail::create_fiber(std::forward<F>(f));
    struct Release {
      detail::FiberBase* fiber;
      ~Release() { detail::release_fiber(fiber); }
    } release{root};
    detail::start_fiber(root);
    run_workers();
    return root->take();
  }

  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  StackPool& stack_pool() { return pool_; }

  // --- runtime internals (detail/) ---
  void inject(detail::Context* fiber);     // any thread: make `fiber` runnable on some worker
  void fiber_started();                    // a fiber was created
  void fiber_finished();                   // a fiber ran to its end
  bool done() const { return done_.load(std::memory_order_acquire); }
  // Hints read without the lock at switch points. Relaxed: a stale value only delays sharing or an injection
  // check to the next switch point; every decision that matters is re-made under `mutex_`.
  std::size_t idle_hint() const { return idle_count_.load(std::memory_order_relaxed); }
  const std::atomic<std::size_t>& idle_counter() const { return idle_count_; }
  std::size_t injected_hint() const { return injected_count_.load(std::memory_order_relaxed); }
  // Worker side, under the lock: take injected fibers; go idle unless there is work or we are done.
  void take_injected(detail::Worker& w);
  bool prepare_idle(detail::Worker& w);
  void finish_idle(detail::Worker& w);
  void share(detail::Worker& from);  // moves half of `from`'s run queue to the injection queue

 private:
  // Binds the calling thread to worker 0 for the duration of block_on.
  class Entered {
   public:
    explicit Entered(Scheduler& s);
    ~Entered();
    Entered(const Entered&) = delete;
    Entered& operator=(const Entered&) = delete;

   private:
    Scheduler& scheduler_;
  };
  void run_workers();

  StackPool pool_;  // before workers_: their stack caches return stacks to it
  std::vector<std::unique_ptr<detail::Worker>> workers_;

  std::mutex mutex_;
  // Under mutex_, after adding work: an idle worker to notify (outside the lock) once it is released, or null.
  detail::Worker* pop_idle_worker();

  detail::ContextList injection_;            // under mutex_
  std::size_t injected_ = 0;                 // its length, under mutex_ (the list keeps no count)
  std::vector<detail::Worker*> idle_;        // under mutex_: workers sleeping in their reactor
  std::atomic<std::size_t> idle_count_{0};   // = idle_.size(), written under mutex_
  std::atomic<std::size_t> injected_count_{0};  // = injected_, written under mutex_
  // Relaxed increments: a fiber is counted by its creator, which is itself live, so the count cannot reach zero
  // in between; the decrement that reaches zero is acq_rel so `done_` follows every fiber's last write.
  std::atomic<std::size_t> live_{0};
  std::atomic<bool> done_{false};
};

}  // namespace tvt::fiber
