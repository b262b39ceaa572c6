#pragma once
// A bounded multi-producer multi-consumer channel for fibers: send() parks while the channel is full, receive()
// parks while it is empty. close() wakes everybody: senders fail, receivers drain what is left, then get nullopt.
//
// Invariants
// - The ring (`slots_`, `head_`, `count_`), `closed_` and both wait lists are guarded by `guard_`.
// - A parked fiber is on exactly one wait list; it is pushed while `guard_` is held and `guard_` is released in
//   the after-switch hook (see mutex.hpp), so it is never woken half-parked.
// - Each successful send wakes at most one waiting receiver, each successful receive at most one waiting sender.
//   A woken fiber retries from the top; if another fiber took the item (or the space) first, it parks again. Items
//   are never lost: a woken receiver that finds the channel empty did not consume the wake-up of any item.
// - No allocation after construction: the ring is sized once, waiters link through their own contexts.
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

  // Parks while full. False (and `value` is dropped) if the channel is closed.
  bool send(T value) {
    for (;;) {
      guard_.lock();
      if (closed_) {
        guard_.unlock();
        return false;
      }
      if (count_ < slots_.size()) {
        slots_[(head_ + count_) % slots_.size()].emplace(std::move(value));
        ++count_;
        detail::Context* receiver = receivers_.pop_front();
        guard_.unlock();
        if (receiver != nullptr) detail::make_ready(receiver);
        return true;
      }
      park_on(senders_);
    }
  }

  // Parks while empty. nullopt once the channel is closed and drained.
  std::optional<T> receive() {
    for (;;) {
      guard_.lock();
      if (count_ > 0) {
        std::optional<T> item = std::move(slots_[head_]);
        slots_[head_].reset();
        head_ = (head_ + 1) % slots_.size();
        --count_;
        detail::Context* sender = senders_.pop_front();
        guard_.unlock();
        if (sender != nullptr) detail::make_ready(sender);
        return item;
      }
      if (closed_) {
        guard_.unlock();
        return std::nullopt;
      }
      park_on(receivers_);
    }
  }

  // Never parks: false if full or closed (then `value` is untouched).
  bool try_send(T& value) {
    guard_.lock();
    if (closed_ || count_ == slots_.size()) {
      guard_.unlock();
      return false;
    }
    slots_[(head_ + count_) % slots_.size()].emplace(std::move(value));
    ++count_;
    detail::Context* receiver = receivers_.pop_front();
    guard_.unlock();
    if (receiver != nullptr) detail::make_ready(receiver);
    return true;
  }

  void close() {
    detail::ContextList woken;
    guard_.lock();
    closed_ = true;
    woken.splice_back(senders_);
    woken.splice_back(receivers_);
    guard_.unlock();
    while (detail::Context* c = woken.pop_front()) detail::make_ready(c);
  }

  std::size_t capacity() const { return slots_.size(); }

 private:
  // Called with guard_ held; returns with it released, after being woken.
  void park_on(detail::ContextList& list) {
    detail::Worker& w = detail::require_fiber("Channel (blocking send/receive)");
    list.push_back(w.current);
    detail::park([](void* guard, detail::Context*) { static_cast<detail::Spinlock*>(guard)->unlock(); }, &guard_);
  }

  detail::Spinlock guard_;
  std::vector<std::optional<T>> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool closed_ = false;
  detail::ContextList senders_;
  detail::ContextList receivers_;
};

}  // namespace tvt::fiber
