#pragma once
// A fiber's control block. It lives at the top of the fiber's own stack (no heap allocation per spawn): the body,
// the result slot and the bookkeeping share the page the fiber touches first anyway.
//
// Invariants
// - `refs` counts the running fiber (dropped when its stack is released after the last switch away) and the
//   JoinHandle (dropped by join or detach). The last one out destroys the block and returns the stack to the pool,
//   so a result outlives its fiber's run for as long as the handle needs it.
// - `join_state` is `running`, then either a joiner's Context* (a fiber parked in join) or `finished`. The finishing
//   fiber exchanges in `finished` and wakes the joiner it displaced; a joiner CASes running -> itself only in its
//   after-switch hook, i.e. once its own context is saved. acq_rel on both sides: the result written before
//   `finished` is visible to the joiner that reads `finished`.
#include <atomic>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "fiber/detail/context.hpp"
#include "fiber/stack_pool.hpp"

namespace tvt::fiber::detail {

struct FiberBase : Context {
  static constexpr std::uintptr_t running = 0;
  static constexpr std::uintptr_t finished = 1;

  Stack stack;
  std::atomic<std::uint32_t> refs{2};
  std::atomic<std::uintptr_t> join_state{running};
  void (*run_body)(FiberBase*) noexcept = nullptr;  // runs the body; stores its value or exception
  void (*destroy)(FiberBase*) noexcept = nullptr;   // ~derived (body and result), not the stack
};

template <class T>
struct FiberWithResult : FiberBase {
  std::optional<T> value;
  std::exception_ptr error;
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct FiberWithResult<void> : FiberBase {
  std::exception_ptr error;
  void take() {
    if (error) std::rethrow_exception(error);
  }
};

template <class F, class T>
struct FiberWithBody final : FiberWithResult<T> {
  explicit FiberWithBody(F&& f) : body(std::move(f)) {}
  F body;

  static void run(FiberBase* base) noexcept {
    auto* self = static_cast<FiberWithBody*>(base);
    try {
      if constexpr (std::is_void_v<T>) {
        self->body();
      } else {
        self->value.emplace(self->body());
      }
    } catch (...) {
      // A fiber that is destroyed while suspended is unwound by an exception of Boost.Context's; it never is here
      // (fibers run to completion), so every exception is the body's own and goes to the joiner.
      self->error = std::current_exception();
    }
  }
  static void destroy_self(FiberBase* base) noexcept { static_cast<FiberWithBody*>(base)->~FiberWithBody(); }
};

// Prepares `fiber`'s context below `control_block_low` on its stack and counts it live; worker.cpp.
void prepare_fiber(FiberBase* fiber, char* control_block_low);
// Makes a prepared fiber runnable on the calling worker.
void start_fiber(FiberBase* fiber);
// Drops one reference; the last one destroys the block and returns the stack.
void release_fiber(FiberBase* fiber) noexcept;
// A stack from the calling worker's cache; throws std::logic_error if the caller is not on a fiber worker.
Stack acquire_stack();
void return_stack(const Stack& stack) noexcept;

// Builds a fiber for `f` on a pooled stack: the control block (body + result) at the top, the stack below it.
template <class F>
auto create_fiber(F&& f) {
  using Body = std::decay_t<F>;
  using T = std::invoke_result_t<Body&>;
  using Block = FiberWithBody<Body, T>;
  static_assert(alignof(Block) <= 64, "over-aligned fiber bodies are not supported");
  const Stack stack = acquire_stack();
  auto top = reinterpret_cast<std::uintptr_t>(stack.top());
  auto place = (top - sizeof(Block)) & ~std::uintptr_t{63};
  Block* block;
  try {
    block = ::new (reinterpret_cast<void*>(place)) Block(Body(std::forward<F>(f)));
  } catch (...) {
    return_stack(stack);  // the body's move constructor threw
    throw;
  }
  block->stack = stack;
  block->run_body = &Block::run;
  block->destroy = &Block::destroy_self;
  prepare_fiber(block, reinterpret_cast<char*>(place));
  return static_cast<FiberWithResult<T>*>(block);
}

}  // namespace tvt::fiber::detail
