#pragma once
// spawn_blocking(f): runs a blocking or CPU-heavy `f` on a separate pool of OS threads and parks only the calling
// fiber until it returns (its value, or its exception rethrown). Use it for anything that would otherwise block the
// worker and every fiber queued on it: blocking syscalls, long computations, libraries that sleep.
//
// Invariants: the job lives on the parked fiber's stack; it is handed to the pool in the after-switch hook (once
// the fiber's context is saved), and the pool thread's last touch of it is the make_ready that resumes the fiber.
// The pool grows on demand up to `max_blocking_threads` and its threads live until the process exits.
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "fiber/detail/worker.hpp"

namespace tvt::fiber {

namespace detail {
struct BlockingJob {
  void (*run)(BlockingJob*) noexcept = nullptr;
  Context* fiber = nullptr;
  BlockingJob* next = nullptr;
};
// Queues `job` on the blocking pool; a pool thread runs it, then make_ready(job->fiber).
void submit_blocking(BlockingJob* job);
}  // namespace detail

inline constexpr unsigned max_blocking_threads = 64;

template <class F>
std::invoke_result_t<F&> spawn_blocking(F&& f) {
  using T = std::invoke_result_t<F&>;
  struct Job : detail::BlockingJob {
    F* body;
    std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> value{};
    std::exception_ptr error;
  } job;
  job.body = &f;
  job.run = [](detail::BlockingJob* base) noexcept {
    auto* j = static_cast<Job*>(base);
    try {
      if constexpr (std::is_void_v<T>) {
        (*j->body)();
      } else {
        j->value.emplace((*j->body)());
      }
    } catch (...) {
      j->error = std::current_exception();
    }
  };
  job.fiber = detail::require_fiber("spawn_blocking").current;
  detail::park([](void* arg, detail::Context*) { detail::submit_blocking(static_cast<detail::BlockingJob*>(arg)); },
               &job);
  if (job.error) std::rethrow_exception(job.error);
  if constexpr (!std::is_void_v<T>) return std::move(*job.value);
}

}  // namespace tvt::fiber
