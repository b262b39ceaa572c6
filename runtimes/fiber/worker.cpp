// Switching, parking and the worker loop. Invariants: detail/worker.hpp and scheduler.hpp.
#include "fiber/detail/worker.hpp"

#include <pthread.h>

#include <chrono>
#include <stdexcept>

#include "fiber/detail/fiber_base.hpp"
#include "fiber/detail/sanitizer.hpp"
#include "fiber/overflow_report.hpp"
#include "fiber/scheduler.hpp"

#if defined(TVT_FIBER_ASAN)
extern "C" void __asan_unpoison_memory_region(void const volatile* addr, std::size_t size);
#endif

#if defined(__clang__)
#define TVT_OPAQUE [[gnu::noinline]]
#else
#define TVT_OPAQUE [[gnu::noinline, gnu::noipa]]
#endif

namespace tvt::fiber::detail {
namespace {

thread_local Worker* tls_worker = nullptr;

// The last thing a fiber does: publish its end, wake its joiner, pick a successor. Returns the successor's
// continuation; Boost.Context jumps there and releases this fiber's stack (StackReleaser) on the successor's side.
TVT_OPAQUE boost::context::fiber finish_fiber(FiberBase* fiber) {
  Worker* w = current_worker();
  if (fiber->kind == ContextKind::canary_fiber) check_canary_slow(fiber);
  // TSan builds: before the end is published (sanitizer.hpp, take_dying_fiber_handle). The release below
  // publishes the emptied handle to whoever drops the last reference.
  if constexpr (sanitizer::dying_fiber_returns_to_worker)
    w->dead_tsan_fiber = sanitizer::take_dying_fiber_handle(*fiber);
  // acq_rel: release publishes the result to the joiner; acquire takes the joiner's registration.
  const auto previous = fiber->join_state.exchange(FiberBase::finished, std::memory_order_acq_rel);
  if (previous != FiberBase::running) make_ready(reinterpret_cast<Context*>(previous));
  Context* next;
  if constexpr (sanitizer::dying_fiber_returns_to_worker) {
    next = &w->main;
    w->switches_until_main = Worker::main_interval;
    w->landing_after_dying_fiber = true;
  } else {
    next = w->pick_next();
  }
  next->landing.previous = &w->dead_end;  // nothing to save: this context never runs again
  next->landing.hook = nullptr;
  w->current = next;
  w->scheduler.fiber_finished();
  sanitizer::start_switch(*fiber, *next, /*dying=*/true);
  return std::move(next->continuation);
}

TVT_OPAQUE boost::context::fiber fiber_main(FiberBase* fiber, boost::context::fiber&& from) {
  sanitizer::finish_switch(*fiber);
  complete_switch(*fiber, std::move(from));
  fiber->run_body(fiber);
  return finish_fiber(fiber);
}

struct FiberEntry {
  FiberBase* fiber;
  boost::context::fiber operator()(boost::context::fiber&& from) const { return fiber_main(fiber, std::move(from)); }
};

// The "stack allocator" Boost.Context keeps in the fiber's record: the stack is preallocated, and deallocate runs on
// the successor's context after the fiber's last switch, where dropping the fiber's own reference is safe.
struct StackReleaser {
  FiberBase* fiber;
  boost::context::stack_context allocate() { throw std::logic_error("fiber stacks are preallocated"); }
  void deallocate(boost::context::stack_context&) noexcept { release_fiber(fiber); }
};

}  // namespace

void check_canary_slow(Context* self) {
  const auto* fiber = static_cast<FiberBase*>(self);
  if (!StackPool::canary_intact(fiber->stack)) overflow::canary_smashed(fiber->id, fiber->stack.limit);
}

TVT_OPAQUE Worker* current_worker() { return tls_worker; }
void set_current_worker(Worker* w) { tls_worker = w; }

std::uint64_t running_fiber_id_for_signal_handler() {
  const Worker* w = tls_worker;
  return w != nullptr && w->current != nullptr ? w->current->id : 0;
}

Context* current_context() { return current_worker()->current; }

namespace {
[[noreturn]] void not_on_fiber(const char* what) {
  throw std::logic_error(std::string("tvt::fiber: ") + what + " must be called on a fiber");
}
}  // namespace

Worker& require_fiber(const char* what) {
  Worker* w = current_worker();
  if (w == nullptr || w->current == &w->main) not_on_fiber(what);
  return *w;
}

void check_unusual_context(Context* self, const char* what) {
  if (self->kind == ContextKind::worker) not_on_fiber(what);
  check_canary_slow(self);
}

Worker::Worker(Scheduler& s, unsigned i, StackPool& pool)
    : scheduler(s), index(i), idle_workers(&s.idle_counter()), stacks(pool), read_scratch(new char[read_scratch_bytes]) {
  main.scheduler = &s;
}

void Worker::share_surplus() { scheduler.share(*this); }

// What run() does besides running the next fiber while fibers are ready (its loop, above the idle part).
bool Worker::main_has_work() const { return uses_reactor || scheduler.injected_hint() != 0; }

// How long a worker must have been idle before its pool gives back the pages of surplus free stacks.
constexpr std::chrono::milliseconds idle_before_trim{100};

void Worker::run() {
  // Reactor::current() is not set: fiber code reaches its reactor through current_worker(), which stays right after
  // a migration (a thread_local Reactor* read by inlined code might not).
  overflow::AltStack alt_stack;
  sanitizer::init_thread_context(main);
  for (;;) {
    if (scheduler.injected_hint() != 0) scheduler.take_injected(*this);
    if (!ready.empty()) {
      if (uses_reactor) reactor.poll(std::chrono::milliseconds(0));  // fairness: I/O while fibers keep running
      Context* next = ready.pop_front();
      if (!ready.empty() && scheduler.idle_hint() != 0) scheduler.share(*this);
      switches_until_main = main_interval;
      switch_away(&main, next, nullptr, nullptr);
      continue;
    }
    if (!scheduler.prepare_idle(*this)) {
      if (scheduler.done() && ready.empty()) break;
      continue;
    }
    // Idle with free stacks past the warm set: wait a little first, and if nothing at all happened (a burst is
    // over, not a pause between two spawns), give their pages back before sleeping for good.
    if (stacks.pool().has_excess()) {
      const auto idle_since = std::chrono::steady_clock::now();
      // A notify (new work) also returns 0 wakes: only a wait that ran its whole course means "idle".
      if (reactor.poll(idle_before_trim) == 0 && std::chrono::steady_clock::now() - idle_since >= idle_before_trim)
        stacks.pool().trim();
    } else {
      reactor.poll(std::chrono::milliseconds(-1));
    }
    scheduler.finish_idle(*this);
  }
}

void inject_context(Context* context) { context->scheduler->inject(context); }

void wake_context(void* context) { make_ready(static_cast<Context*>(context)); }

Stack acquire_stack() {
  Worker* w = current_worker();
  if (w == nullptr) throw std::logic_error("tvt::fiber: spawn must be called on a fiber (or inside block_on)");
  const Stack s = w->stacks.acquire();
#if defined(TVT_FIBER_ASAN)
  // Frames of the stack's previous fiber may have left poisoned redzones behind.
  __asan_unpoison_memory_region(s.limit, s.size_bytes);
#endif
  return s;
}

void return_stack(const Stack& stack) noexcept { current_worker()->stacks.release(stack); }

void prepare_fiber(FiberBase* fiber, char* control_block_low) {
  Worker* w = current_worker();
  fiber->scheduler = &w->scheduler;
  fiber->id = w->fibers_created++ * w->scheduler.worker_count() + w->index + 1;
  const auto usable = static_cast<std::size_t>(control_block_low - fiber->stack.limit);
  fiber->kind = fiber->stack.guard == GuardMode::canary ? ContextKind::canary_fiber : ContextKind::guarded_fiber;
  fiber->stack_bottom = fiber->stack.limit;
  fiber->stack_size_bytes = usable;
  sanitizer::create_fiber(*fiber);
  boost::context::stack_context sctx;
  sctx.sp = control_block_low;
  sctx.size = usable;
#if defined(TVT_FIBER_TSAN)
  // Creating the context runs a few instrumented instructions on the new stack: attribute them to the new fiber.
  void* creator = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(fiber->tsan_fiber, 0);
#endif
  fiber->continuation = boost::context::fiber(std::allocator_arg,
                                              boost::context::preallocated(control_block_low, usable, sctx),
                                              StackReleaser{fiber}, FiberEntry{fiber});
#if defined(TVT_FIBER_TSAN)
  __tsan_switch_to_fiber(creator, 0);
#endif
  w->scheduler.fiber_started();
}

void start_fiber(FiberBase* fiber) { current_worker()->ready.push_back(fiber); }

void release_fiber(FiberBase* fiber) noexcept {
  // acq_rel: the last owner must see every write of the other (the result, the fiber's last stores).
  if (fiber->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  const Stack stack = fiber->stack;
  Scheduler* scheduler = fiber->scheduler;
  void* dead_tsan_fiber = sanitizer::destroy_fiber(*fiber);
  fiber->destroy(fiber);
  Worker* w = current_worker();
  if (dead_tsan_fiber != nullptr) w->dead_tsan_fiber = dead_tsan_fiber;  // it is dying on this worker right now
  if (w != nullptr && &w->scheduler == scheduler) {
    w->stacks.release(stack);
  } else {
    scheduler->stack_pool().release(stack);
  }
}

void wait_finished(FiberBase* fiber) {
  if (fiber->join_state.load(std::memory_order_acquire) == FiberBase::finished) return;
  require_fiber("join");
  park(
      [](void* arg, Context* self) {
        auto* f = static_cast<FiberBase*>(arg);
        std::uintptr_t expected = FiberBase::running;
        // acq_rel: publish the joiner to the finisher; on failure (acquire) the fiber finished meanwhile.
        if (!f->join_state.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(self),
                                                   std::memory_order_acq_rel, std::memory_order_acquire))
          make_ready(self);
      },
      fiber);
  // Only the finisher (or our own hook, having seen `finished`) wakes us. acquire: pairs with the finisher's
  // exchange, making the result visible here.
  [[maybe_unused]] const auto state = fiber->join_state.load(std::memory_order_acquire);
}

namespace sanitizer {
void init_thread_context([[maybe_unused]] Context& main_context) {
#if defined(TVT_FIBER_ASAN)
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    main_context.stack_bottom = addr;
    main_context.stack_size_bytes = size;
    pthread_attr_destroy(&attr);
  }
#endif
#if defined(TVT_FIBER_TSAN)
  main_context.tsan_fiber = __tsan_get_current_fiber();
#endif
}
}  // namespace sanitizer

}  // namespace tvt::fiber::detail
