#pragma once
// channel<T>(capacity) / unbounded_channel<T>(): a multi-producer, single-consumer queue between tasks (on any
// threads). `co_await tx.send(v)` waits while the channel is full and returns false if the receiver is gone;
// `co_await rx.recv()` waits while it is empty and returns nullopt once every sender is gone and it is drained.
// Senders are copyable (each copy counts as a sender).
//
// Invariants: all state is guarded by `State::mutex`. A blocked sender's node (in its frame) holds the value it
// waits to deliver; the receiver moves it into `items` when it makes room, marks it `done` and wakes the sender --
// under the mutex, like every wake here, so a waiter that withdraws under the mutex is never woken afterwards.
#include <coroutine>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"
#include "coro/detail/wait_list.hpp"

namespace tvt::coro {
namespace detail {

template <class T>
struct SendNode : WaitNode {
  std::optional<T>* value = nullptr;
  bool done = false;
};

template <class T>
struct ChannelState {
  explicit ChannelState(std::size_t cap) : capacity(cap) {}
  std::mutex mutex;
  std::deque<T> items;
  std::size_t capacity;
  std::size_t senders = 1;
  bool receiver_alive = true;
  TaskHeader* receiver = nullptr;  // the parked receiver
  WaitList blocked_senders;        // of SendNode<T>

  void wake_receiver() {
    if (receiver != nullptr) std::exchange(receiver, nullptr)->wake();
  }
  // Under mutex: takes the oldest item and lets the first blocked sender in.
  T take_front() {
    T v = std::move(items.front());
    items.pop_front();
    if (auto* node = static_cast<SendNode<T>*>(blocked_senders.pop_front())) {
      items.push_back(std::move(**node->value));
      node->done = true;
      node->task->wake();
    }
    return v;
  }
};

}  // namespace detail

template <class T>
class Sender {
 public:
  explicit Sender(std::shared_ptr<detail::ChannelState<T>> s) : state_(std::move(s)) {}
  Sender(const Sender& other) : state_(other.state_) {
    std::lock_guard lock(state_->mutex);
    ++state_->senders;
  }
  Sender(Sender&&) noexcept = default;
  Sender& operator=(Sender other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~Sender() {
    if (!state_) return;
    std::lock_guard lock(state_->mutex);
    if (--state_->senders == 0) state_->wake_receiver();
  }

  class [[nodiscard]] Send {
   public:
    Send(detail::ChannelState<T>* s, T v) : state_(s), value_(std::move(v)) {}
    bool await_ready() {
      std::lock_guard lock(state_->mutex);
      return try_now();
    }
    bool await_suspend(std::coroutine_handle<> resume) {
      detail::TaskHeader& me = detail::require_current_task("channel send");
      if (me.interrupted()) return false;
      std::lock_guard lock(state_->mutex);
      if (try_now()) return false;
      node_.task = &me;
      node_.value = &value_;
      state_->blocked_senders.push_back(node_);
      detail::park_current(me, resume, &poll, this);
      return true;
    }
    bool await_resume() {
      if (settled_ || node_.done) return delivered_ || node_.done;
      std::lock_guard lock(state_->mutex);
      if (node_.done) return true;
      if (!state_->receiver_alive) return false;
      detail::throw_if_interrupted(*detail::current_task());
      return false;
    }

   private:
    // Under mutex: delivers now if possible (or learns that it never can).
    bool try_now() {
      if (!state_->receiver_alive) return settled_ = true;
      if (state_->items.size() >= state_->capacity) return false;
      state_->items.push_back(std::move(*value_));
      state_->wake_receiver();
      return settled_ = delivered_ = true;
    }
    static bool poll(void* leaf, detail::TaskHeader& me) noexcept {
      auto* self = static_cast<Send*>(leaf);
      std::lock_guard lock(self->state_->mutex);
      if (self->node_.done) return true;
      if (self->state_->receiver_alive && !me.interrupted()) return false;
      if (self->node_.linked) self->state_->blocked_senders.erase(self->node_);
      return true;
    }

    detail::ChannelState<T>* state_;
    std::optional<T> value_;
    detail::SendNode<T> node_;
    bool settled_ = false;
    bool delivered_ = false;
  };
  Send send(T value) { return Send(state_.get(), std::move(value)); }

  // Without waiting: true if queued now.
  bool try_send(T& value) {
    std::lock_guard lock(state_->mutex);
    if (!state_->receiver_alive || state_->items.size() >= state_->capacity) return false;
    state_->items.push_back(std::move(value));
    state_->wake_receiver();
    return true;
  }

 private:
  std::shared_ptr<detail::ChannelState<T>> state_;
};

template <class T>
class Receiver {
 public:
  explicit Receiver(std::shared_ptr<detail::ChannelState<T>> s) : state_(std::move(s)) {}
  Receiver(Receiver&&) noexcept = default;
  Receiver& operator=(Receiver&&) noexcept = default;
  ~Receiver() {
    if (!state_) return;
    std::lock_guard lock(state_->mutex);
    state_->receiver_alive = false;
    while (auto* node = state_->blocked_senders.pop_front()) node->task->wake();  // they return false
  }

  class [[nodiscard]] Recv {
   public:
    explicit Recv(detail::ChannelState<T>* s) : state_(s) {}
    bool await_ready() {
      std::lock_guard lock(state_->mutex);
      return !state_->items.empty() || state_->senders == 0;
    }
    bool await_suspend(std::coroutine_handle<> resume) {
      detail::TaskHeader& me = detail::require_current_task("channel recv");
      if (me.interrupted()) return false;
      std::lock_guard lock(state_->mutex);
      if (!state_->items.empty() || state_->senders == 0) return false;
      state_->receiver = &me;
      detail::park_current(me, resume, &poll, this);
      return true;
    }
    std::optional<T> await_resume() {
      std::lock_guard lock(state_->mutex);
      if (!state_->items.empty()) return state_->take_front();
      if (state_->senders == 0) return std::nullopt;
      detail::throw_if_interrupted(*detail::current_task());
      return std::nullopt;
    }

   private:
    static bool poll(void* leaf, detail::TaskHeader& me) noexcept {
      auto* self = static_cast<Recv*>(leaf);
      std::lock_guard lock(self->state_->mutex);
      if (!self->state_->items.empty() || self->state_->senders == 0) return true;
      if (!me.interrupted()) return false;
      self->state_->receiver = nullptr;
      return true;
    }
    detail::ChannelState<T>* state_;
  };
  Recv recv() noexcept { return Recv(state_.get()); }

  std::optional<T> try_recv() {
    std::lock_guard lock(state_->mutex);
    if (state_->items.empty()) return std::nullopt;
    return state_->take_front();
  }

 private:
  std::shared_ptr<detail::ChannelState<T>> state_;
};

// A channel holding at most `capacity` (>= 1) queued values.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity) {
  auto state = std::make_shared<detail::ChannelState<T>>(capacity == 0 ? 1 : capacity);
  return {Sender<T>(state), Receiver<T>(state)};
}

template <class T>
std::pair<Sender<T>, Receiver<T>> unbounded_channel() {
  return channel<T>(std::numeric_limits<std::size_t>::max());
}

}  // namespace tvt::coro
