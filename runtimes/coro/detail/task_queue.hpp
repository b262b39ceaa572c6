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

// The tasks an executor owns (spawned, not yet complete): doubly linked through owned_prev_/owned_next_, so that
// shutdown can cancel every one of them. Guarded by the executor (its thread or its mutex).
class OwnedTasks {
 public:
  void insert(TaskHeader& t) noexcept {
    t.owned_prev_ = nullptr;
    t.owned_next_ = head_;
    if (head_ != nullptr) head_->owned_prev_ = &t;
    head_ = &t;
    ++size_;
  }
  void erase(TaskHeader& t) noexcept {
    if (t.owned_prev_ != nullptr)
      t.owned_prev_->owned_next_ = t.owned_next_;
    else
      head_ = t.owned_next_;
    if (t.owned_next_ != nullptr) t.owned_next_->owned_prev_ = t.owned_prev_;
    t.owned_prev_ = t.owned_next_ = nullptr;
    --size_;
  }
  template <class F>
  void for_each(F&& f) {
    for (TaskHeader* t = head_; t != nullptr; t = t->owned_next_) f(*t);
  }
  std::size_t size() const noexcept { return size_; }

 private:
  TaskHeader* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tvt::coro::detail
