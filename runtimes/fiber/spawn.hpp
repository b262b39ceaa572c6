#pragma once
// spawn(f) starts `f` on a new fiber of the calling fiber's scheduler and returns its JoinHandle. The fiber's
// stack comes from the scheduler's pool; its body and result live at the top of that stack (no heap per spawn).
//
// JoinHandle<T>: join() parks the calling fiber until the fiber finished, then returns its value or rethrows its
// exception. Dropping the handle detaches the fiber: it keeps running and frees its stack when it ends. A handle
// must not outlive the Scheduler::block_on that spawned its fiber.
#include <cstdint>
#include <type_traits>
#include <utility>

#include "fiber/detail/fiber_base.hpp"

namespace tvt::fiber {

namespace detail {
void wait_finished(FiberBase* fiber);
}

template <class T>
class JoinHandle {
 public:
  JoinHandle() = default;
  explicit JoinHandle(detail::FiberWithResult<T>* fiber) : fiber_(fiber) {}
  JoinHandle(JoinHandle&& other) noexcept : fiber_(std::exchange(other.fiber_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      detach();
      fiber_ = std::exchange(other.fiber_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { detach(); }

  // Requires joinable(); call it on a fiber. Afterwards the handle is empty.
  T join() {
    auto* f = std::exchange(fiber_, nullptr);
    struct Release {
      detail::FiberBase* fiber;
      ~Release() { detail::release_fiber(fiber); }
    } release{f};
    detail::wait_finished(f);
    return f->take();
  }

  void detach() {
    if (fiber_ != nullptr) detail::release_fiber(std::exchange(fiber_, nullptr));
  }
  bool joinable() const { return fiber_ != nullptr; }
  // True once the fiber ran to its end (its result is ready; join() will not park).
  bool finished() const {
    return fiber_->join_state.load(std::memory_order_acquire) == detail::FiberBase::finished;
  }
  std::uint64_t id() const { return fiber_->id; }

 private:
  detail::FiberWithResult<T>* fiber_ = nullptr;
};

// Requires a fiber (or the inside of Scheduler::block_on).
template <class F>
auto spawn(F&& f) {
  auto* fiber = detail::create_fiber(std::forward<F>(f));
  detail::start_fiber(fiber);
  using T = std::invoke_result_t<std::decay_t<F>&>;
  return JoinHandle<T>(fiber);
}

}  // namespace tvt::fiber
