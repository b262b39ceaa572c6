#pragma once
// Waker and Context: what a hand-written future (poll_fn.hpp) gets to say "poll me again", as in Rust's
// std::task::{Context, Waker}.
//
// A Waker is a counted reference to one task: copy it into whatever will finish the operation (another thread, a
// callback), call wake() from any thread when the operation may have progressed. Waking makes the task runnable
// once (wakes collapse until it runs); its executor then polls the future again. A Waker keeps the task's header
// alive, not its coroutine frame, so waking a task that has moved on or finished is harmless: at worst a spurious
// poll of whatever it awaits now, which every leaf of this runtime tolerates (a wake only ever means "look again").
#include <utility>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/task_header.hpp"

namespace tvt::coro {

class Waker {
 public:
  Waker() noexcept = default;  // wakes nothing
  explicit Waker(detail::TaskHeader& task) noexcept : task_(&task) { task.add_ref(); }
  Waker(const Waker& other) noexcept : task_(other.task_) {
    if (task_ != nullptr) task_->add_ref();
  }
  Waker(Waker&& other) noexcept : task_(std::exchange(other.task_, nullptr)) {}
  Waker& operator=(Waker other) noexcept {
    std::swap(task_, other.task_);
    return *this;
  }
  ~Waker() {
    if (task_ != nullptr) task_->release();
  }

  // Any thread, any number of times.
  void wake() const noexcept {
    if (task_ != nullptr) task_->wake();
  }
  // Whether both wake the same task (Rust's will_wake: skip replacing a stored waker that is still right).
  bool will_wake(const Waker& other) const noexcept { return task_ == other.task_; }

 private:
  detail::TaskHeader* task_ = nullptr;
};

// What a poll function receives: the task being polled, and a way to wake it later.
class Context {
 public:
  explicit Context(detail::TaskHeader& task) noexcept : task_(task) {}
  // A new Waker for the task being polled (Rust: cx.waker().clone()).
  Waker waker() const noexcept { return Waker(task_); }

 private:
  detail::TaskHeader& task_;
};

}  // namespace tvt::coro
