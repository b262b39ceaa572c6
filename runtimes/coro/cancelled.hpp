#pragma once
// What a task sees when it is stopped: JoinHandle::cancel() (or the runtime shutting down) makes the task's next
// suspension point throw TaskCancelled; awaiting the JoinHandle of a cancelled task rethrows it.
#include <stdexcept>

namespace tvt::coro {

class TaskCancelled : public std::runtime_error {
 public:
  TaskCancelled() : std::runtime_error("coro: task cancelled") {}
};

}  // namespace tvt::coro
