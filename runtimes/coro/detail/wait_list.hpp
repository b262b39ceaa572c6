#pragma once
// An intrusive FIFO of waiting awaiters (channels, mutex). The awaiter is the node, in its coroutine's frame: parking
// never allocates. Guarded by the owning primitive's mutex; a node is in the list iff `linked`.
namespace tvt::coro::detail {

class TaskHeader;

struct WaitNode {
  WaitNode* prev = nullptr;
  WaitNode* next = nullptr;
  TaskHeader* task = nullptr;
  bool linked = false;
};

class WaitList {
 public:
  void push_back(WaitNode& n) noexcept {
    n.prev = tail_;
    n.next = nullptr;
    if (tail_ != nullptr)
      tail_->next = &n;
    else
      head_ = &n;
    tail_ = &n;
    n.linked = true;
  }
  WaitNode* pop_front() noexcept {
    WaitNode* n = head_;
    if (n != nullptr) erase(*n);
    return n;
  }
  void erase(WaitNode& n) noexcept {
    if (n.prev != nullptr)
      n.prev->next = n.next;
    else
      head_ = n.next;
    if (n.next != nullptr)
      n.next->prev = n.prev;
    else
      tail_ = n.prev;
    n.prev = n.next = nullptr;
    n.linked = false;
  }
  bool empty() const noexcept { return head_ == nullptr; }

 private:
  WaitNode* head_ = nullptr;
  WaitNode* tail_ = nullptr;
};

}  // namespace tvt::coro::detail
