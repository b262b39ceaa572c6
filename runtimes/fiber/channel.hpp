#pragma once
// A bounded multi-producer multi-consumer channel for fibers: send() parks while the channel is full, receive()
// parks while it is empty. close() wakes everybody: senders fail, receivers drain what is left, then get nullopt.
//
// Invariants
// - The ring (`slots_`, `head_`, `count_`), `closed_` and both wait lists are guarded by `guard_`.
// - A parked fiber is on exactly one wait list; it is pushed while `guard_` is held and `guard_` is released in
//   the after-switch hook (see mutex.hpp), so it is never woken half-parked.
// - Hand-off to a waiting receiver: a send that finds a receiver parked moves the value straight into that
//   receiver's wait node (on the receiver's stack, under `guard_`), unlinks it and wakes it; the receiver returns
//   the value without taking `guard_` again (the channel round trip's fast path: one lock per side, not two).
//   Hence: while a receiver is parked the ring is empty (it parked on an empty ring, and every send since then
//   handed off instead of enqueuing), and an item is never lost: it is in the ring or in exactly one node whose
//   fiber is woken and returns it. A receiver woken with an empty node was woken by close(): it retries.
// - Each successful receive wakes at most one waiting sender, which retries from the top; if another fiber took
//   the space first, it parks again.
// - No allocation after construction: the ring is sized once, senders link through their own contexts, receivers
//   through their wait nodes.
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fiber/detail/intrusive_list.hpp"
#include "fiber/detail/spinlock.hpp"
#include "fiber/detail/worker.hpp"

namespace tvt::fiber {

template <class T>
class Channel {
 public:
  explicit Channel(std::size_t capacity) : slots_(capacity) {
    if (capacity == 0) throw std::invalid_argument("tvt::fiber::Channel capacity must be at least 1");
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Parks while full. False (and `value` is dropped) if the channel is closed. Inline up to the first park, so a
  // sender that parks lands back in its caller's frame (see receive()); a woken sender retries out of line.
  [[gnu::always_inline]] bool send(T value) {
    guard_.lock();
    if (!closed_ && receivers_ == nullptr && count_ == slots_.size()) {
      park_on(senders_);
      return send_retry(value);
    }
    return send_locked(value);
  }

  // Parks while empty. nullopt once the channel is closed and drained.
  // Inline, with the park in the caller's frame: a function that switches and then returns costs a return the
  // return-stack buffer mispredicts (it holds the other fiber's return addresses), about a tenth of a same-thread
  // round trip when receive() was out of line (perf, runtimes/fiber/README.md). The ring and close paths, which do
  // not switch, are out of line.
  [[gnu::always_inline]] std::optional<T> receive() {
    guard_.lock();
    if (count_ > 0 || closed_) return take_locked();
    std::optional<T> item = park_receiver();
    if (item.has_value()) [[likely]] return item;
    return receive_retry();  // woken by close()
  }

  // Never parks: false if full or closed (then `value` is untouched).
  bool try_send(T& value) {
    guard_.lock();
    return send_locked(value);
  }

  void close() {
    detail::ContextList woken;
    guard_.lock();
    closed_ = true;
    woken.splice_back(senders_);
    ReceiveWait* receivers = std::exchange(receivers_, nullptr);
    receivers_tail_ = &receivers_;
    // Each node's `self` is read before its fiber can run (and return, ending the node): the fiber is woken below.
    for (; receivers != nullptr; receivers = receivers->next) woken.push_back(receivers->self);
    guard_.unlock();
    while (detail::Context* c = woken.pop_front()) detail::make_ready(c);
  }

  std::size_t capacity() const { return slots_.size(); }

 private:
  // A receiver parked on the empty channel, on its own stack; valid until that fiber is woken and returns.
  struct ReceiveWait {
    detail::Context* self;
    ReceiveWait* next = nullptr;
    std::optional<T> item{};  // filled by the sender that wakes it
  };

  // Called with guard_ held; releases it. Enqueues, hands off to a parked receiver, or fails (closed or full).
  bool send_locked(T& value) {
    if (closed_ || (receivers_ == nullptr && count_ == slots_.size())) {
      guard_.unlock();
      return false;
    }
    if (receivers_ != nullptr) {
      hand_off(value);
      return true;
    }
    slots_[wrap(head_ + count_)].emplace(std::move(value));
    ++count_;
    guard_.unlock();
    return true;
  }
  // A sender woken because space was made (or by close()): retries from the top; parks again if another fiber took
  // the space first.
  [[gnu::noinline]] bool send_retry(T& value) {
    for (;;) {
      guard_.lock();
      if (closed_ || receivers_ != nullptr || count_ < slots_.size()) return send_locked(value);
      park_on(senders_);
    }
  }

  // Called with guard_ held and the ring non-empty or the channel closed; releases guard_. Takes the oldest item
  // and wakes one waiting sender, or reports the end (nullopt).
  [[gnu::noinline]] std::optional<T> take_locked() {
    if (count_ == 0) {  // closed and drained
      guard_.unlock();
      return std::nullopt;
    }
    std::optional<T> item = std::move(slots_[head_]);
    slots_[head_].reset();
    head_ = wrap(head_ + 1);
    --count_;
    detail::Context* sender = senders_.pop_front();
    guard_.unlock();
    if (sender != nullptr) detail::make_ready(sender);
    return item;
  }
  // Called with guard_ held on an empty, open channel; parks until a sender hands an item over (returned) or
  // close() wakes us (nullopt). Returns with guard_ released.
  [[gnu::always_inline]] std::optional<T> park_receiver() {
    detail::Worker& w = parking_worker();
    ReceiveWait wait{w.current};
    *receivers_tail_ = &wait;
    receivers_tail_ = &wait.next;
    detail::park(w, unlock_guard, &guard_);
    // Woken by a sender, which handed the value over (and unlinked us) under guard_; its unlock and the wake-up
    // order that write before this read. Or woken by close(), with nothing.
    return std::move(wait.item);
  }
  [[gnu::noinline]] std::optional<T> receive_retry() {
    for (;;) {
      guard_.lock();
      if (count_ > 0 || closed_) return take_locked();
      if (std::optional<T> item = park_receiver()) return item;
    }
  }

  static void unlock_guard(void* guard, detail::Context*) { static_cast<detail::Spinlock*>(guard)->unlock(); }

  // Called with guard_ held and a receiver waiting; releases guard_ and wakes that receiver with `value`.
  void hand_off(T& value) {
    ReceiveWait* receiver = receivers_;
    receivers_ = receiver->next;
    if (receivers_ == nullptr) receivers_tail_ = &receivers_;
    receiver->item.emplace(std::move(value));
    detail::Context* self = receiver->self;  // read before the receiver can run and end the node
    guard_.unlock();
    detail::make_ready(self);
  }

  // Called with guard_ held, before parking: the caller's worker; off a fiber, releases guard_ and throws.
  detail::Worker& parking_worker() {
    detail::Worker* w = detail::current_worker();
    if (w == nullptr || w->current == &w->main) [[unlikely]] {
      guard_.unlock();
      detail::require_fiber("Channel (blocking send/receive)");  // throws
    }
    return *w;
  }

  // Called with guard_ held; returns with it released, after being woken.
  void park_on(detail::ContextList& list) {
    detail::Worker& w = parking_worker();
    list.push_back(w.current);
    detail::park(w, unlock_guard, &guard_);
  }
  // An index below twice the capacity, into the ring; a compare instead of a division on every send and receive.
  std::size_t wrap(std::size_t i) const { return i >= slots_.size() ? i - slots_.size() : i; }

  detail::Spinlock guard_;
  std::vector<std::optional<T>> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool closed_ = false;
  detail::ContextList senders_;
  ReceiveWait* receivers_ = nullptr;  // FIFO of parked receivers
  ReceiveWait** receivers_tail_ = &receivers_;
};

}  // namespace tvt::fiber
