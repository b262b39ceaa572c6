// ThreadPool: invariants in thread_pool.hpp.
#include "coro/thread_pool.hpp"

#include <chrono>
#include <cstdio>

#include "coro/detail/run_task.hpp"

namespace tvt::coro {
namespace {

thread_local ThreadPool* current_pool = nullptr;
thread_local void* current_worker = nullptr;  // ThreadPool::Worker* of current_pool
constexpr auto shutdown_budget = std::chrono::seconds(2);

}  // namespace

ThreadPool::ThreadPool(unsigned threads) : Executor(false) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
  for (auto& w : workers_) w->thread = std::thread([this, worker = w.get()] { run_worker(*worker); });
}

ThreadPool::~ThreadPool() {
  // Let the workers unwind the cancelled tasks in parallel first; whatever is left runs on this thread below.
  {
    std::lock_guard lock(owned_mutex_);
    owned_.for_each([](detail::TaskHeader& t) { t.cancel(); });
  }
  const auto deadline = std::chrono::steady_clock::now() + shutdown_budget / 2;
  while (has_tasks() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stopping_.store(true);
  for (auto& w : workers_) w->reactor.notify();
  for (auto& w : workers_) w->thread.join();
  drain_after_stop();
}

ThreadPool* ThreadPool::current() noexcept { return current_pool; }

std::size_t ThreadPool::task_count() const {
  std::lock_guard lock(owned_mutex_);
  return owned_.size();
}

bool ThreadPool::has_tasks() const {
  std::lock_guard lock(owned_mutex_);
  return !owned_.empty();
}

void ThreadPool::adopt(detail::TaskHeader& task) {
  // A plain store: nobody else knows the task yet (before the insert: ~ThreadPool's cancel may follow it at once).
  task.state().store(detail::TaskHeader::scheduled, std::memory_order_relaxed);
  {
    std::lock_guard lock(owned_mutex_);
    owned_.insert(task);
  }
  schedule(task);
}

void ThreadPool::retire(detail::TaskHeader& task) noexcept {
  std::lock_guard lock(owned_mutex_);
  owned_.erase(task);
}

void ThreadPool::push(Worker& w, detail::TaskHeader& task) noexcept {
  bool was_sleeping;
  bool more_queued;
  {
    std::lock_guard lock(w.mutex);
    w.queue.push_back(task);
    was_sleeping = w.sleeping;
    more_queued = w.queue.more_than_one();
  }
  if (was_sleeping) {
    w.reactor.notify();
    return;
  }
  // More work here than this worker can start now, and someone is idle: wake one sleeper so it steals.
  if (more_queued && sleepers_.load(std::memory_order_relaxed) > 0) {  // relaxed: a hint; a miss costs latency only
    for (auto& other : workers_) {
      bool asleep;
      {
        std::lock_guard lock(other->mutex);
        asleep = other->sleeping;
      }
      if (asleep) {
        other->reactor.notify();
        break;
      }
    }
  }
}

void ThreadPool::schedule(detail::TaskHeader& task) noexcept {
  Worker* target = nullptr;
  if (current_pool == this && current_worker != nullptr) {
    target = static_cast<Worker*>(current_worker);
  } else {
    target = workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) % workers_.size()].get();
  }
  push(*target, task);
}

detail::TaskHeader* ThreadPool::pop(Worker& w) {
  std::lock_guard lock(w.mutex);
  return w.queue.pop_front();
}

detail::TaskHeader* ThreadPool::steal(Worker& thief) {
  for (auto& victim : workers_) {
    if (victim.get() == &thief) continue;
    std::lock_guard lock(victim->mutex);
    if (!victim->queue.empty()) return victim->queue.pop_front();
  }
  return nullptr;
}

void ThreadPool::run_worker(Worker& self) {
  current_pool = this;
  current_worker = &self;
  reactor::Reactor::ScopedCurrent reactor_scope(self.reactor);
  unsigned since_io_poll = 0;
  detail::TaskHeader* const outer = detail::running_task;
  while (!stopping_.load(std::memory_order_acquire)) {
    detail::TaskHeader* task = pop(self);
    if (task == nullptr) task = steal(self);
    if (task != nullptr) {
      if (detail::run_task(*task, *this, outer) == detail::Ran::yielded) push(self, *task);  // to the back of its queue
      detail::running_task = outer;  // run_task may leave the task there (run_task.hpp)
      if (++since_io_poll >= tasks_between_io_polls) {
        since_io_poll = 0;
        self.reactor.poll(std::chrono::milliseconds(0));
      }
      continue;
    }
    since_io_poll = 0;
    if (self.reactor.poll(std::chrono::milliseconds(0)) > 0) continue;
    {
      std::lock_guard lock(self.mutex);
      if (!self.queue.empty()) continue;
      self.sleeping = true;
    }
    sleepers_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a hint (see push)
    if (!stopping_.load()) self.reactor.poll(std::chrono::milliseconds(-1));
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(self.mutex);
    self.sleeping = false;
  }
  current_pool = nullptr;
  current_worker = nullptr;
}

void ThreadPool::drain_after_stop() {
  // Run on this thread as worker 0 from now on: wakes land in worker 0's queue.
  current_pool = this;
  current_worker = workers_[0].get();
  reactor::Reactor::ScopedCurrent reactor_scope(workers_[0]->reactor);
  {
    std::lock_guard lock(owned_mutex_);
    owned_.for_each([](detail::TaskHeader& t) {
      // cancel() wakes, and a wake takes no lock of ours except a worker's queue mutex: safe under owned_mutex_.
      t.cancel();
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + shutdown_budget;
  detail::TaskHeader* const outer = detail::running_task;  // ~ThreadPool may run inside a task
  while (has_tasks() && std::chrono::steady_clock::now() < deadline) {
    bool ran = false;
    for (auto& w : workers_) {
      while (detail::TaskHeader* task = pop(*w)) {
        if (detail::run_task(*task, *this, outer) == detail::Ran::yielded) push(*w, *task);
        detail::running_task = outer;
        ran = true;
      }
    }
    for (auto& w : workers_) w->reactor.poll(std::chrono::milliseconds(0));
    if (!ran) workers_[0]->reactor.poll(std::chrono::milliseconds(5));
  }
  if (const auto left = task_count(); left > 0)
    std::fprintf(stderr, "coro: %zu pool task(s) ignored cancellation; leaking them\n", left);
  current_pool = nullptr;
  current_worker = nullptr;
}

ThreadPool& global_pool() {
  static ThreadPool pool;
  return pool;
}

}  // namespace tvt::coro
