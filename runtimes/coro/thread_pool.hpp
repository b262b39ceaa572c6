#pragma once
// ThreadPool: the worker threads `spawn` runs tasks on (default: one per core), each with its own reactor. A task
// may resume on another worker after any await (idle workers steal), so thread_local state can change under it;
// task_local state does not.
//
// Invariants
// - Each Worker's `queue` is guarded by its `mutex`; `sleeping` (under the same mutex) is true only while the
//   worker is about to sleep or sleeps in its reactor's epoll_wait. A producer that finds it true calls notify()
//   after unlocking, so a push is never missed by a sleeping worker.
// - A wake on a worker thread queues the task on that worker (the reactor that saw the edge is that worker's);
//   a wake from elsewhere picks a worker round-robin.
// - I/O registrations stay with the reactor of the worker where the socket first waited; registration, park and
//   removal are thread-safe (see reactor.hpp), so a migrated task keeps using it.
// - `owned_` (guarded by `owned_mutex_`) lists every spawned, unfinished task.
// - Shutdown (destructor): cancel every owned task and let the workers unwind them (bounded in time); stop and join
//   the workers; cancel and run what is left on the destroying thread, polling every reactor (bounded in time);
//   then destroy the reactors.
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/task_queue.hpp"
#include "coro/join_handle.hpp"
#include "coro/task.hpp"
#include "reactor/reactor.hpp"

namespace tvt::coro {

class ThreadPool final : public detail::Executor {
 public:
  // `threads` == 0: one per core.
  explicit ThreadPool(unsigned threads = 0);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

  // Any thread. Starts `task` on a worker.
  template <class T>
  JoinHandle<T> spawn(Task<T> task) {
    auto* spawned = detail::SpawnedTask<T>::adopt(std::move(task), *this);
    adopt(*spawned);
    return JoinHandle<T>(spawned);
  }

  // The pool whose worker is the calling thread, or nullptr.
  static ThreadPool* current() noexcept;
  unsigned size() const noexcept { return static_cast<unsigned>(workers_.size()); }
  std::size_t task_count() const;  // counts the owned tasks (a walk)

  void schedule(detail::TaskHeader& task) noexcept override;
  void retire(detail::TaskHeader& task) noexcept override;

 private:
  struct Worker {
    std::mutex mutex;
    detail::TaskQueue queue;  // guarded by mutex
    bool sleeping = false;    // guarded by mutex
    reactor::Reactor reactor;
    std::thread thread;
  };

  void adopt(detail::TaskHeader& task);
  bool has_tasks() const;  // some owned task is unfinished
  void run_worker(Worker& self);
  detail::TaskHeader* pop(Worker& w);
  detail::TaskHeader* steal(Worker& thief);
  void push(Worker& w, detail::TaskHeader& task) noexcept;
  void drain_after_stop();

  static constexpr unsigned tasks_between_io_polls = 61;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<unsigned> next_worker_{0};  // relaxed: only spreads work, any value is correct
  std::atomic<unsigned> sleepers_{0};     // how many workers sleep; a hint for waking one to steal
  std::atomic<bool> stopping_{false};
  mutable std::mutex owned_mutex_;
  detail::OwnedTasks owned_;  // guarded by owned_mutex_
};

// The process-wide pool `spawn` uses outside any pool (made on first use, one worker per core).
ThreadPool& global_pool();

}  // namespace tvt::coro
