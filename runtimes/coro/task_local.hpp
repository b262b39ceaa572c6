#pragma once
// TaskLocal<T>: storage that belongs to the spawned task, not to the thread (async-std's task_local!). Each task sees
// its own value, made on first use (from the initializer, or T{}), kept across awaits even when the task moves to
// another worker, and destroyed when the task finishes. Declare it once, e.g. `inline TaskLocal<int> request_id;`.
// Using it outside a task throws std::logic_error.
//
// Invariants: a task's storage is touched only by the runner that holds the task (RUNNING), so it needs no lock; it
// is made on first use and destroyed when the task completes (or is torn down).
#include <utility>
#include <vector>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/task_header.hpp"

namespace tvt::coro {
namespace detail {

struct TaskLocalStorage {
  struct Entry {
    const void* key;
    void* value;
    void (*destroy)(void*);
  };
  std::vector<Entry> entries;
  ~TaskLocalStorage() {
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) it->destroy(it->value);
  }
};

}  // namespace detail

template <class T>
class TaskLocal {
 public:
  TaskLocal() noexcept = default;
  explicit TaskLocal(T (*initializer)()) noexcept : initializer_(initializer) {}
  TaskLocal(const TaskLocal&) = delete;
  TaskLocal& operator=(const TaskLocal&) = delete;

  T& get() {
    detail::TaskHeader& me = detail::require_current_task("TaskLocal");
    if (me.locals_ == nullptr) me.locals_ = new detail::TaskLocalStorage;
    for (auto& e : me.locals_->entries)
      if (e.key == this) return *static_cast<T*>(e.value);
    T* value = initializer_ != nullptr ? new T(initializer_()) : new T{};
    me.locals_->entries.push_back({this, value, [](void* p) { delete static_cast<T*>(p); }});
    return *value;
  }
  void set(T value) { get() = std::move(value); }

 private:
  T (*initializer_)() = nullptr;
};

}  // namespace tvt::coro
