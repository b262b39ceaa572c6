#pragma once
// oneshot<T>(): a channel for exactly one value. `co_await receiver.recv()` yields the value, or nullopt if the sender
// was dropped without sending. send() returns false if the receiver is gone.
//
// Invariants: `State` is shared by the two ends (shared_ptr); every field is guarded by `mutex`; the receiver's task
// is woken under `mutex`, and the receiver withdraws under it, so a wake never reaches a finished task.
#include <coroutine>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"

namespace tvt::coro {

template <class T>
class OneshotSender;
template <class T>
class OneshotReceiver;

namespace detail {
template <class T>
struct OneshotState {
  std::mutex mutex;
  std::optional<T> value;
  bool sender_gone = false;
  bool receiver_gone = false;
  TaskHeader* waiter = nullptr;
  bool settled() const { return value.has_value() || sender_gone; }
};
}  // namespace detail

template <class T>
class OneshotSender {
 public:
  explicit OneshotSender(std::shared_ptr<detail::OneshotState<T>> s) : state_(std::move(s)) {}
  OneshotSender(OneshotSender&&) noexcept = default;
  OneshotSender& operator=(OneshotSender&&) noexcept = default;
  ~OneshotSender() { finish(std::nullopt); }

  // Sends once; false if the receiver is gone (the value is dropped).
  bool send(T value) { return finish(std::move(value)); }

 private:
  bool finish(std::optional<T> value) {
    if (!state_) return false;
    auto state = std::move(state_);
    std::lock_guard lock(state->mutex);
    if (value) state->value = std::move(value);
    state->sender_gone = true;
    if (state->waiter != nullptr) std::exchange(state->waiter, nullptr)->wake();
    return !state->receiver_gone;
  }
  std::shared_ptr<detail::OneshotState<T>> state_;
};

template <class T>
class OneshotReceiver {
 public:
  explicit OneshotReceiver(std::shared_ptr<detail::OneshotState<T>> s) : state_(std::move(s)) {}
  OneshotReceiver(OneshotReceiver&&) noexcept = default;
  OneshotReceiver& operator=(OneshotReceiver&&) noexcept = default;
  ~OneshotReceiver() {
    if (!state_) return;
    std::lock_guard lock(state_->mutex);
    state_->receiver_gone = true;
  }

  struct [[nodiscard]] Recv {
    detail::OneshotState<T>* state;
    bool parked = false;

    bool await_ready() {
      std::lock_guard lock(state->mutex);
      return state->settled();
    }
    bool await_suspend(std::coroutine_handle<> resume) {
      detail::TaskHeader& me = detail::require_current_task("oneshot recv");
      if (me.interrupted()) return false;
      std::lock_guard lock(state->mutex);
      if (state->settled()) return false;
      state->waiter = &me;
      parked = true;
      detail::park_current(me, resume, &poll, this);
      return true;
    }
    std::optional<T> await_resume() {
      std::lock_guard lock(state->mutex);
      if (state->value) return std::exchange(state->value, std::nullopt);
      if (state->sender_gone) return std::nullopt;
      detail::throw_if_interrupted(*detail::current_task());
      return std::nullopt;
    }

   private:
    static bool poll(void* leaf, detail::TaskHeader& me) noexcept {
      auto* self = static_cast<Recv*>(leaf);
      std::lock_guard lock(self->state->mutex);
      if (self->state->settled()) return true;
      if (!me.interrupted()) return false;
      self->state->waiter = nullptr;
      return true;
    }
  };
  Recv recv() noexcept { return Recv{state_.get()}; }

 private:
  std::shared_ptr<detail::OneshotState<T>> state_;
};

template <class T>
std::pair<OneshotSender<T>, OneshotReceiver<T>> oneshot() {
  auto state = std::make_shared<detail::OneshotState<T>>();
  return {OneshotSender<T>(state), OneshotReceiver<T>(state)};
}

}  // namespace tvt::coro
