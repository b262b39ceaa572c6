#pragma once
// What the scheduler knows about anything it can switch to: a fiber, or a worker thread's own (main) context.
//
// Invariants
// - `continuation` holds the saved context while the owner is suspended and is empty while it runs. It is written
//   only by the context that runs right after the owner switched away (the after-switch hook), so a context becomes
//   visible to wakers only after its continuation is saved (see worker.hpp, "parking").
// - `next_in_list` links the context into at most one list at a time: a worker's run queue, the scheduler's
//   injection queue, or one wait list of a sync primitive.
#include <boost/context/fiber.hpp>
#include <cstddef>
#include <cstdint>

namespace tvt::fiber {
class Scheduler;
}

namespace tvt::fiber::detail {

struct Context {
  boost::context::fiber continuation;
  Context* next_in_list = nullptr;
  Scheduler* scheduler = nullptr;
  std::uint64_t id = 0;  // 0: a worker's own context; fibers count from 1
  bool canary_checked = false;  // a fiber on an unguarded (canary) stack: checked at every switch away

  // Sanitizer bookkeeping: the stack this context runs on (ASan needs it at every switch), ASan's fake-stack handle
  // while suspended, and TSan's fiber handle. Four words; unused in plain builds.
  const void* stack_bottom = nullptr;
  std::size_t stack_size_bytes = 0;
  void* asan_fake_stack = nullptr;
  void* tsan_fiber = nullptr;
};

}  // namespace tvt::fiber::detail
