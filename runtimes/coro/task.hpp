#pragma once
// Task<T>: a lazy, move-only coroutine. Nothing runs until it is awaited (inside another task) or spawned.
// `co_await task` starts it with symmetric transfer and, when it finishes, transfers straight back to the awaiter:
// no stack grows with the length of an await chain, so a million sequential or nested awaits cannot overflow.
//
// Ownership: the Task object owns the coroutine frame until it is awaited (the frame is destroyed with the Task
// after the await) or spawned (then the spawned task owns it and destroys it when the coroutine finishes).
// Lifetimes: a Task may run after the caller's stack frame is gone (spawn), so parameters taken by reference may
// dangle. Take parameters by value in coroutines you spawn (see README, "owning tasks").
#include <coroutine>
#include <exception>
#include <utility>

#include "coro/detail/result.hpp"

namespace tvt::coro {

template <class T = void>
class Task;

namespace detail {

// Set on the top-level coroutine of a spawned task: called at its end instead of resuming an awaiter.
class SpawnedBase {
 public:
  // Takes the result out of the finished frame, destroys the frame and signals completion.
  void (*on_frame_done_)(SpawnedBase* self, std::coroutine_handle<> frame) noexcept = nullptr;
};

class TaskPromiseBase {
 public:
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> frame) noexcept {
      TaskPromiseBase& p = frame.promise();
      if (p.spawned_ != nullptr) {
        p.spawned_->on_frame_done_(p.spawned_, frame);  // destroys `frame`: touch nothing of it afterwards
        return std::noop_coroutine();
      }
      return p.continuation_;  // symmetric transfer back to the awaiter
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  std::coroutine_handle<> continuation_{};
  SpawnedBase* spawned_ = nullptr;
};

template <class T>
class TaskPromise final : public TaskPromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& value) {
    result_.set_value(std::forward<U>(value));
  }
  void unhandled_exception() noexcept { result_.set_exception(std::current_exception()); }
  Result<T> result_;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept { result_.set_value(); }
  void unhandled_exception() noexcept { result_.set_exception(std::current_exception()); }
  Result<void> result_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(std::coroutine_handle<promise_type> frame) noexcept : frame_(frame) {}
  Task(Task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (frame_) frame_.destroy();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (frame_) frame_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(frame_); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> frame;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        frame.promise().continuation_ = awaiting;
        return frame;  // symmetric transfer: start the child without growing the stack
      }
      T await_resume() { return frame.promise().result_.take(); }
    };
    return Awaiter{frame_};
  }

  // For the spawners: gives up the frame.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(frame_, {}); }

 private:
  std::coroutine_handle<promise_type> frame_{};
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace tvt::coro
