#pragma once
// Intrusive queues of tasks, linked through TaskHeader::next_in_queue_ (a task is in at most one queue: the
// SCHEDULED bit). Pushing never allocates.
#include <atomic>
#include <cstddef>

#include "coro/detail/task_header.hpp"

namespace tvt::coro::detail {

// FIFO for one thread (or guarded by the owner's mutex). No element count: the run loops only ask "empty?" (and
// the thread pool "more than one?"), and keeping a count cost two instructions per task switch. The tail's link is
// left unset (pop compares with the tail instead): a push writes one link, a pop reads one.
class TaskQueue {
 public:
  void push_back(TaskHeader& t) noexcept {
    if (tail_ != nullptr)
      tail_->next_in_queue_ = &t;
    else
      head_ = &t;
    tail_ = &t;
  }
  TaskHeader* pop_front() noexcept {
    TaskHeader* t = head_;
    if (t == nullptr) return nullptr;
    if (t == tail_)
      head_ = tail_ = nullptr;
    else
      head_ = t->next_in_queue_;
    return t;
  }
  bool empty() const noexcept { return head_ == nullptr; }
  bool more_than_one() const noexcept { return head_ != tail_; }  // both null when empty, equal with one task

 private:
  TaskHeader* head_ = nullptr;
  TaskHeader* tail_ = nullptr;
};

// Multi-producer, single-consumer inbox (a Treiber stack the consumer takes whole and reverses into FIFO order).
// Producers: any thread. Consumer: the owner thread only.
class TaskInbox {
 public:
  void push(TaskHeader& t) noexcept {
    // relaxed load: the CAS below re-reads; release on success publishes the task's fields to the consumer.
    TaskHeader* head = head_.load(std::memory_order_relaxed);
    do {
      t.next_in_queue_ = head;
    } while (!head_.compare_exchange_weak(head, &t, std::memory_order_release, std::memory_order_relaxed));
  }
  // Moves everything to the back of `queue`, oldest first.
  void drain_into(TaskQueue& queue) noexcept {
    if (head_.load(std::memory_order_relaxed) == nullptr) return;  // relaxed: a miss is caught by the next drain
    TaskHeader* list = head_.exchange(nullptr, std::memory_order_acquire);  // acquire: pairs with push's release
    TaskHeader* reversed = nullptr;
    while (list != nullptr) {
      TaskHeader* next = list->next_in_queue_;
      list->next_in_queue_ = reversed;
      reversed = list;
      list = next;
    }
    while (reversed != nullptr) {
      TaskHeader* next = reversed->next_in_queue_;
      queue.push_back(*reversed);
      reversed = next;
    }
  }

 private:
  std::atomic<TaskHeader*> head_{nullptr};
};

// The tasks an executor owns (spawned, not yet complete): a circular list doubly linked through
// owned_prev_/owned_next_, so that shutdown can cancel every one of them. Guarded by the executor (its thread or its
// mutex). Its ends are a header that is never a task (`ends_`), so insert and erase (every spawn and completion)
// take no branch; no count is kept either (size() walks: shutdown and diagnostics only).
class OwnedTasks {
 public:
  OwnedTasks() noexcept { ends_.owned_prev_ = ends_.owned_next_ = &ends_; }
  OwnedTasks(const OwnedTasks&) = delete;  // the list points at ends_
  OwnedTasks& operator=(const OwnedTasks&) = delete;

  void insert(TaskHeader& t) noexcept {
    TaskHeader* const first = ends_.owned_next_;
    t.owned_prev_ = &ends_;
    t.owned_next_ = first;
    first->owned_prev_ = &t;
    ends_.owned_next_ = &t;
  }
  void erase(TaskHeader& t) noexcept {
    t.owned_prev_->owned_next_ = t.owned_next_;
    t.owned_next_->owned_prev_ = t.owned_prev_;
  }
  template <class F>
  void for_each(F&& f) {
    for (TaskHeader* t = ends_.owned_next_; t != &ends_; t = t->owned_next_) f(*t);
  }
  bool empty() const noexcept { return ends_.owned_next_ == &ends_; }
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const TaskHeader* t = ends_.owned_next_; t != &ends_; t = t->owned_next_) ++n;
    return n;
  }

 private:
  TaskHeader ends_;
};

}  // namespace tvt::coro::detail
