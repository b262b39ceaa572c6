#pragma once
// channel<T>(capacity) / unbounded_channel<T>(): a multi-producer, single-consumer queue between tasks (on any
// threads). `co_await tx.send(v)` waits while the channel is full and returns false if the receiver is gone;
// `co_await rx.recv()` waits while it is empty and returns nullopt once every sender is gone and it is drained.
// Senders are copyable (each copy counts as a sender).
//
// Invariants: all state is guarded by `State::mutex` (a LiteMutex: lite_mutex.hpp says why not std::mutex). A
// blocked sender's node (in its frame) holds the value it waits to deliver; the receiver moves it into `items` when
// it makes room, marks it `done` and wakes the sender -- under the mutex, like every wake here, so a waiter that
// withdraws under the mutex is never woken afterwards.
// A parked receiver is registered only while `items` is empty; a value sent then is handed straight into the
// receiver's awaiter (`handed`), so the woken receiver's poll and await_resume take no lock (the round trip's fast
// path). `done` and `handed` are atomics only so that a poll may read them without the mutex: each is stored once,
// under the mutex, with release, after the value it announces and after the wake -- a waiter that sees the flag may
// finish and free its task at once, so the waker must be done with the task by then (a poll that sees no flag yet
// takes the mutex, which the waker still holds).
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

#include "coro/detail/lite_mutex.hpp"
#include "coro/detail/local_pool.hpp"
#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"
#include "coro/detail/wait_list.hpp"

namespace tvt::coro {
namespace detail {

// TaskHeader::interrupted() inlined into a flat wrapper, itself small enough to inline: GCC outlines interrupted()
// from the receiver's inlined parking path otherwise (a call, 7 more instructions per round trip).
[[gnu::flatten]] inline bool interrupted_flat(const TaskHeader& task) noexcept { return task.interrupted(); }

// A blocked sender: the wait node and the value it waits to deliver, in its awaiter (Sender<T>::Send).
// Member order is layout: the flags fill the WaitNode's tail padding, then the value (no std::optional: it exists
// from the awaiter's construction to its destruction, moved from at most once), so that a Send<int> with its
// channel pointer is 40 bytes -- every parked sender's frame carries one.
template <class T>
struct SendWaiter : WaitNode {
  explicit SendWaiter(T&& v) : value(std::move(v)) {}
  std::atomic<bool> done{false};  // the receiver took `value` (see the invariants above)
  bool settled = false;           // the Send's own: await_suspend or the poll ended the send (delivered, receiver gone)
  bool delivered = false;         // ... and it was delivered
  T value;
};

// A parked receiver, in its awaiter (Receiver<T>::Recv).
template <class T>
struct RecvWaiter {
  TaskHeader* task = nullptr;
  std::optional<T> value;           // taken at once, or handed over by a sender
  std::atomic<bool> handed{false};  // a sender filled `value` (see the invariants above)
};

template <class T>
struct ChannelState {
  explicit ChannelState(std::size_t cap) : capacity(cap) {}
  LiteMutex mutex;  // first: the hot paths address it at the state's own address
  // Owners: each Sender and the Receiver (ChannelRef), counted here rather than by a shared_ptr so that a Sender is
  // one pointer (a parked sender's frame holds one). Freed by the last owner's release.
  std::atomic<std::uint32_t> refs{0};
  std::deque<T> items;
  std::size_t capacity;
  std::size_t senders = 1;
  bool receiver_alive = true;
  RecvWaiter<T>* receiver = nullptr;  // the parked receiver; only while `items` is empty
  WaitList blocked_senders;           // of SendWaiter<T>

  void wake_receiver() {
    if (receiver != nullptr) std::exchange(receiver, nullptr)->task->wake();
  }
  // Under mutex: room for one more value (a parked receiver means `items` is empty: no size to compute).
  bool has_room() const noexcept { return receiver != nullptr || items.size() < capacity; }
  // Under mutex, room checked: hands `v` to the parked receiver (then `items` is empty), else queues it. Inline
  // into the send paths (GCC would outline it from them: a call per round trip).
  [[gnu::always_inline]] void deliver(T&& v) {
    if (RecvWaiter<T>* r = std::exchange(receiver, nullptr)) {
      r->value.emplace(std::move(v));
      if (wake_completed_here(*r->task)) return;  // same thread: resumes without a poll, which only reads `handed`
      r->task->wake();
      r->handed.store(true, std::memory_order_release);  // last (see above); release: `value` before the flag
      return;
    }
    enqueue(std::move(v));
  }
  // Out of line: deliver's hand-off path is inlined into the callers' fast paths (try_send, the Send awaiter).
  [[gnu::noinline]] void enqueue(T&& v) { items.push_back(std::move(v)); }
  // Under mutex: takes the oldest item and lets the first blocked sender in.
  T take_front() {
    T v = std::move(items.front());
    items.pop_front();
    if (auto* node = static_cast<SendWaiter<T>*>(blocked_senders.pop_front())) {
      items.push_back(std::move(node->value));
      node->task->wake();
      node->done.store(true, std::memory_order_release);  // last (see above); release: pairs with the lock-free poll
    }
    return v;
  }
};

// A counted reference to a channel's state (see ChannelState::refs).
template <class T>
class ChannelRef {
 public:
  ChannelRef() noexcept = default;
  explicit ChannelRef(ChannelState<T>* s) noexcept : state_(s) {
    // relaxed: the caller holds a reference already (or just made the state)
    if (s != nullptr) Rmw::fetch_add(s->refs, 1u, std::memory_order_relaxed);
  }
  ChannelRef(const ChannelRef& other) noexcept : ChannelRef(other.state_) {}
  ChannelRef(ChannelRef&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  ChannelRef& operator=(ChannelRef other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~ChannelRef() {
    // acq_rel: every owner's use of the state happens-before the delete by the last one.
    if (state_ != nullptr && Rmw::fetch_add(state_->refs, ~0u, std::memory_order_acq_rel) == 1) delete state_;
  }
  ChannelState<T>* get() const noexcept { return state_; }
  ChannelState<T>* operator->() const noexcept { return state_; }
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  ChannelState<T>* state_ = nullptr;
};

}  // namespace detail

template <class T>
class Sender {
 public:
  explicit Sender(detail::ChannelRef<T> s) noexcept : state_(std::move(s)) {}
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

  // The awaiter is the wait node (no pointer from node to value): a parked sender's frame carries no more.
  class [[nodiscard]] Send : detail::SendWaiter<T> {
   public:
    Send(detail::ChannelState<T>* s, T v) : detail::SendWaiter<T>(std::move(v)), state_(s) {}
    // The check needs the mutex: done once, in await_suspend (false there = continue at once).
    bool await_ready() const noexcept { return false; }
    // Out of line, and the outcome settled before the coroutine resumes (here, or by the poll), so that
    // await_resume reads two flags and makes no call but a throw: inline, the lock, wake and enqueue calls made
    // every coroutine that sends save more registers on each of its resumes (a yield loop after a send).
    // Not settled on return or resume: the task was interrupted, which is terminal for this await.
    [[gnu::noinline]] bool await_suspend(std::coroutine_handle<> resume) {
      std::lock_guard lock(state_->mutex);
      if (try_now()) return false;
      detail::TaskHeader& me = detail::require_current_task("channel send");
      if (me.interrupted()) return false;
      this->task = &me;
      state_->blocked_senders.push_back(*this);
      detail::park_current(me, resume, &poll, this);
      return true;
    }
    bool await_resume() {
      if (!this->settled) [[unlikely]]
        detail::throw_interrupted(*detail::running_task);
      return this->delivered;
    }

   private:
    // Under mutex: delivers now if possible (or learns that it never can).
    bool try_now() {
      if (!state_->receiver_alive) return this->settled = true;
      if (!state_->has_room()) return false;
      state_->deliver(std::move(this->value));
      return this->settled = this->delivered = true;
    }
    // Settles the send (delivered, or the receiver gone) or, interrupted, withdraws it unsettled.
    static bool poll(void* leaf, detail::TaskHeader& me) noexcept {
      auto* self = static_cast<Send*>(leaf);
      if (self->done.load(std::memory_order_acquire)) return self->settled = self->delivered = true;  // no lock
      std::lock_guard lock(self->state_->mutex);
      if (self->done.load(std::memory_order_relaxed)) return self->settled = self->delivered = true;
      if (!self->state_->receiver_alive) return self->settled = true;  // ~Receiver unlinked it
      if (!me.interrupted()) return false;  // spurious: still registered
      if (self->linked) self->state_->blocked_senders.erase(*self);
      return true;
    }

    detail::ChannelState<T>* state_;
  };
  Send send(T value) { return Send(state_.get(), std::move(value)); }

  // Without waiting: true if queued (or handed to the waiting receiver) now.
  // Inline (its slow paths are not): a send to a parked receiver then costs no call but the lock's.
  [[gnu::always_inline]] bool try_send(T& value) {
    detail::LiteLock lock(state_->mutex);
    if (!state_->receiver_alive || !state_->has_room()) return false;
    state_->deliver(std::move(value));
    return true;
  }

 private:
  detail::ChannelRef<T> state_;
};

template <class T>
class Receiver {
 public:
  explicit Receiver(detail::ChannelRef<T> s) noexcept : state_(std::move(s)) {}
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
    // The check needs the mutex: done once, in await_suspend (false there = continue at once).
    bool await_ready() const noexcept { return false; }
    // Inline into the awaiting coroutine (the slow paths are out of line): parking costs no call.
    [[gnu::always_inline]] bool await_suspend(std::coroutine_handle<> resume) {
      detail::LiteLock lock(state_->mutex);
      if (!state_->items.empty()) return take_queued();
      if (state_->senders == 0) return false;
      detail::TaskHeader& me = detail::require_current_task("channel recv");
      if (detail::interrupted_flat(me)) return false;
      waiter_.task = &me;
      state_->receiver = &waiter_;
      detail::park_current(me, resume, &poll, this);
      return true;
    }
    std::optional<T> await_resume() {
      if (waiter_.value) return std::move(waiter_.value);  // taken in await_suspend, or handed over (poll saw it)
      return resume_locked();
    }

   private:
    // Under mutex, `items` not empty. Out of line, as the slow paths below: the parking path saves fewer registers.
    [[gnu::noinline]] bool take_queued() {
      waiter_.value.emplace(state_->take_front());
      return false;
    }
    // Out of line: the round trip's path above then saves no registers for it.
    [[gnu::noinline]] std::optional<T> resume_locked() {
      std::lock_guard lock(state_->mutex);
      if (!state_->items.empty()) return state_->take_front();
      if (state_->senders == 0) return std::nullopt;
      detail::throw_if_interrupted(*detail::running_task);
      return std::nullopt;
    }
    static bool poll(void* leaf, detail::TaskHeader& me) noexcept {
      auto* self = static_cast<Recv*>(leaf);
      if (self->waiter_.handed.load(std::memory_order_acquire)) return true;  // the round trip's path: no lock
      return self->poll_locked(me);
    }
    [[gnu::noinline]] bool poll_locked(detail::TaskHeader& me) noexcept {
      std::lock_guard lock(state_->mutex);
      if (waiter_.handed.load(std::memory_order_relaxed)) return true;
      if (state_->senders == 0) return true;  // the last sender unregistered us when it went
      if (!me.interrupted()) return false;    // spurious: still registered
      state_->receiver = nullptr;
      return true;
    }
    detail::ChannelState<T>* state_;
    detail::RecvWaiter<T> waiter_;
  };
  Recv recv() noexcept { return Recv(state_.get()); }

  std::optional<T> try_recv() {
    std::lock_guard lock(state_->mutex);
    if (state_->items.empty()) return std::nullopt;
    return state_->take_front();
  }

 private:
  detail::ChannelRef<T> state_;
};

// A channel holding at most `capacity` (>= 1) queued values.
template <class T>
std::pair<Sender<T>, Receiver<T>> channel(std::size_t capacity) {
  detail::ChannelRef<T> state(new detail::ChannelState<T>(capacity == 0 ? 1 : capacity));
  return {Sender<T>(state), Receiver<T>(std::move(state))};
}

template <class T>
std::pair<Sender<T>, Receiver<T>> unbounded_channel() {
  return channel<T>(std::numeric_limits<std::size_t>::max());
}

}  // namespace tvt::coro
