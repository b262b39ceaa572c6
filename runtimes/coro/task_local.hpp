#pragma once
// TaskLocal<T>: storage that belongs to the spawned task, not to the thread (async-std's task_local!). Each task sees
// its own value, made on first use (from the initializer, or T{}), kept across awaits even when the task moves to
// another worker, and destroyed when the task finishes. Declare it once, e.g. `inline TaskLocal<int> request_id;`.
// Using it outside a task throws std::logic_error.
//
// Invariants: a task's values live in its TaskExtras (detail/task_extras.hpp): touched only by the runner that holds
// the task (RUNNING), so no lock; made on first use and destroyed when the task completes (or is torn down).
#include <utility>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/task_extras.hpp"
#include "coro/detail/task_header.hpp"

namespace tvt::coro {

template <class T>
class TaskLocal {
 public:
  TaskLocal() noexcept = default;
  explicit TaskLocal(T (*initializer)()) noexcept : initializer_(initializer) {}
  TaskLocal(const TaskLocal&) = delete;
  TaskLocal& operator=(const TaskLocal&) = delete;

  T& get() {
    detail::TaskExtras& extras = detail::extras_of(detail::require_current_task("TaskLocal"));
    for (auto& e : extras.locals)
      if (e.key == this) return *static_cast<T*>(e.value);
    T* value = initializer_ != nullptr ? new T(initializer_()) : new T{};
    extras.locals.push_back({this, value, [](void* p) { delete static_cast<T*>(p); }});
    return *value;
  }
  void set(T value) { get() = std::move(value); }

 private:
  T (*initializer_)() = nullptr;
};

}  // namespace tvt::coro
