#pragma once
// A FIFO of contexts linked through Context::next_in_list: push, pop and splice never allocate. Not thread-safe:
// each list is owned by one thread or guarded by its owner's lock (see the users' invariants).
// No size member: a worker's run queue is pushed and popped at every switch, and a count kept there cost a
// load-modify-store on each (callgrind, runtimes/fiber/README.md); count() walks the list for the rare callers.
#include <cstddef>

#include "fiber/detail/context.hpp"

namespace tvt::fiber::detail {

class ContextList {
 public:
  ContextList() = default;
  ContextList(const ContextList&) = delete;
  ContextList& operator=(const ContextList&) = delete;

  bool empty() const { return head_ == nullptr; }
  // O(n).
  std::size_t count() const {
    std::size_t n = 0;
    for (const Context* c = head_; c != nullptr; c = c->next_in_list) ++n;
    return n;
  }

  void push_back(Context* c) {
    c->next_in_list = nullptr;
    if (head_ == nullptr) {
      head_ = c;
    } else {
      tail_->next_in_list = c;
    }
    tail_ = c;
  }

  Context* pop_front() {
    Context* c = head_;
    if (c == nullptr) return nullptr;
    head_ = c->next_in_list;  // `tail_` may now be stale: it is read only while head_ is set
    return c;  // its link is stale until it is pushed again (context.hpp)
  }

  // Moves every element of `other` to the back of this list.
  void splice_back(ContextList& other) {
    if (other.head_ == nullptr) return;
    if (head_ == nullptr) {
      head_ = other.head_;
    } else {
      tail_->next_in_list = other.head_;
    }
    tail_ = other.tail_;
    other.head_ = nullptr;
  }

  // Removes `c` if present (O(n); wait lists use it for timeouts, which are rare). True if it was found.
  bool remove(Context* c) {
    Context* previous = nullptr;
    for (Context* at = head_; at != nullptr; previous = at, at = at->next_in_list) {
      if (at != c) continue;
      (previous == nullptr ? head_ : previous->next_in_list) = at->next_in_list;
      if (tail_ == at) tail_ = previous;  // null when the list is now empty: then unread
      return true;
    }
    return false;
  }

 private:
  Context* head_ = nullptr;
  // The last element; meaningful only while head_ is non-null. A pointer to the last element rather than to its
  // link (or to head_ when empty): then pop_front never rewrites it when the list drains, as a run queue does at
  // nearly every switch between two fibers (callgrind, runtimes/fiber/README.md).
  Context* tail_ = nullptr;
};

}  // namespace tvt::fiber::detail
