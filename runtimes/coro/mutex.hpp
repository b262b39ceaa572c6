#pragma once
// An async mutex: `auto guard = co_await mutex.lock();` waits by parking the task, not the thread. FIFO hand-off:
// unlock() passes ownership straight to the first waiter, so a stream of new lockers cannot starve it.
//
// Invariants: `locked_` and `waiters_` are guarded by `state_mutex_` (held only for a few instructions, never across
// a suspension). A granted waiter owns the mutex from the moment unlock() grants it, even before it runs; if it was
// interrupted meanwhile it still receives the guard (so the lock is never lost). Wakes happen under state_mutex_.
#include <coroutine>
#include <mutex>
#include <optional>
#include <utility>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"
#include "coro/detail/wait_list.hpp"

namespace tvt::coro {

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  class [[nodiscard]] Guard {
   public:
    explicit Guard(Mutex* m) noexcept : mutex_(m) {}
    Guard(Guard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Guard& operator=(Guard&& other) noexcept {
      if (this != &other) {
        if (mutex_ != nullptr) mutex_->unlock();
        mutex_ = std::exchange(other.mutex_, nullptr);
      }
      return *this;
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() {
      if (mutex_ != nullptr) mutex_->unlock();
    }

   private:
    Mutex* mutex_;
  };

  class [[nodiscard]] Lock {
   public:
    explicit Lock(Mutex& m) noexcept : mutex_(m) {}
    bool await_ready() {
      std::lock_guard lock(mutex_.state_mutex_);
      return granted_ = mutex_.try_take();
    }
    bool await_suspend(std::coroutine_handle<> resume) {
      detail::TaskHeader& me = detail::require_current_task("Mutex::lock");
      if (me.interrupted()) return false;
      std::lock_guard lock(mutex_.state_mutex_);
      if ((granted_ = mutex_.try_take())) return false;
      node_.task = &me;
      mutex_.waiters_.push_back(node_);
      detail::park_current(me, resume, &poll, this);
      return true;
    }
    Guard await_resume() {
      if (!granted_) {
        std::lock_guard lock(mutex_.state_mutex_);
        granted_ = node_.granted;
      }
      if (!granted_) detail::throw_if_interrupted(*detail::current_task());
      return Guard(&mutex_);
    }

   private:
    friend class Mutex;
    struct Node : detail::WaitNode {
      bool granted = false;
    };
    static bool poll(void* leaf, detail::TaskHeader& me) noexcept {
      auto* self = static_cast<Lock*>(leaf);
      std::lock_guard lock(self->mutex_.state_mutex_);
      if (self->node_.granted) return true;
      if (!me.interrupted()) return false;
      self->mutex_.waiters_.erase(self->node_);
      return true;
    }
    Mutex& mutex_;
    Node node_;
    bool granted_ = false;
  };

  Lock lock() noexcept { return Lock(*this); }
  std::optional<Guard> try_lock() {
    std::lock_guard lock(state_mutex_);
    if (!try_take()) return std::nullopt;
    return Guard(this);
  }

 private:
  bool try_take() noexcept {  // under state_mutex_
    if (locked_) return false;
    locked_ = true;
    return true;
  }
  void unlock() noexcept {
    std::lock_guard lock(state_mutex_);
    if (auto* node = static_cast<Lock::Node*>(waiters_.pop_front())) {
      node->granted = true;  // ownership passes directly; locked_ stays true
      node->task->wake();
    } else {
      locked_ = false;
    }
  }

  std::mutex state_mutex_;
  bool locked_ = false;
  detail::WaitList waiters_;
};

}  // namespace tvt::coro
