#pragma once
// What only some tasks use -- timeout() scopes and task_local values -- in one block made on first use, so that the
// header every task carries pays one pointer for both (issue 18: a parked task's bytes).
//
// Invariants: touched only by the runner that holds the task (RUNNING), like the header's other runner-owned fields;
// made by the first timeout() or TaskLocal use, freed when the task's frame is gone (no timeout scope is left then:
// each lives in a frame).
#include <vector>

#include "coro/detail/task_header.hpp"

namespace tvt::coro::detail {

struct TaskExtras {
  struct Local {
    const void* key;
    void* value;
    void (*destroy)(void*);
  };
  TimeoutScope* timeouts = nullptr;  // innermost active timeout() scope
  std::vector<Local> locals;         // task_local values, in the order they were made

  TaskExtras() = default;
  TaskExtras(const TaskExtras&) = delete;
  TaskExtras& operator=(const TaskExtras&) = delete;
  ~TaskExtras() {
    for (auto it = locals.rbegin(); it != locals.rend(); ++it) it->destroy(it->value);
  }
};

inline TaskExtras& extras_of(TaskHeader& task) {
  if (task.extras_ == nullptr) {
    task.extras_ = new TaskExtras;
    // relaxed: only this task's runners read the bit, and the run queues order them (task_header.hpp).
    Rmw::fetch_or(task.state(), TaskHeader::extras, std::memory_order_relaxed);
  }
  return *task.extras_;
}

// When the task's frame is gone (task_header.cpp); most tasks have none.
void destroy_extras_slow(TaskHeader& task) noexcept;
inline void destroy_extras(TaskHeader& task) noexcept {
  if (task.extras_ != nullptr) destroy_extras_slow(task);
}

}  // namespace tvt::coro::detail
