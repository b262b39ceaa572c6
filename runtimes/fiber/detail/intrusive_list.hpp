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
    *tail_ = c;
    tail_ = &c->next_in_list;
  }

  Context* pop_front() {
    Context* c = head_;
    if (c == nullptr) return nullptr;
    head_ = c->next_in_list;
    if (head_ == nullptr) tail_ = &head_;
    return c;  // its link is stale until it is pushed again (context.hpp)
  }

  // Moves every element of `other` to the back of this list.
  void splice_back(ContextList& other) {
    if (other.head_ == nullptr) return;
    *tail_ = other.head_;
    tail_ = other.tail_;
    other.head_ = nullptr;
    other.tail_ = &other.head_;
  }

  // Removes `c` if present (O(n); wait lists use it for timeouts, which are rare). True if it was found.
  bool remove(Context* c) {
    for (Context** link = &head_; *link != nullptr; link = &(*link)->next_in_list) {
      if (*link != c) continue;
      *link = c->next_in_list;
      if (*link == nullptr) tail_ = link;
      return true;
    }
    return false;
  }

 private:
  Context* head_ = nullptr;
  Context** tail_ = &head_;
};

}  // namespace tvt::fiber::detail
