// LocalPool: invariants in local_pool.hpp.
#include "coro/detail/local_pool.hpp"

#include <cstdio>

#include "coro/detail/run_task.hpp"

namespace tvt::coro::detail {
namespace {

thread_local LocalPool* current_pool = nullptr;
constexpr auto shutdown_budget = std::chrono::seconds(2);

}  // namespace

LocalPool::LocalPool() : Executor(true), reactor_scope_(reactor_), previous_(current_pool) { current_pool = this; }

LocalPool::~LocalPool() {
  owned_.for_each([](TaskHeader& t) { t.cancel(); });
  const auto deadline = std::chrono::steady_clock::now() + shutdown_budget;
  while (owned_.size() > 0 && std::chrono::steady_clock::now() < deadline)
    run_once(std::chrono::milliseconds(10));
  if (owned_.size() > 0)
    std::fprintf(stderr, "coro: %zu local task(s) ignored cancellation; leaking them\n", owned_.size());
  current_pool = previous_;
}

LocalPool* LocalPool::current() noexcept { return current_pool; }

void LocalPool::adopt(TaskHeader& task) noexcept {
  owned_.insert(task);
  queue_.push_back(task);
}

void LocalPool::schedule(TaskHeader& task) noexcept {
  if (current_pool == this) {
    queue_.push_back(task);
  } else {
    inbox_.push(task);
    reactor_.notify();  // after the push: the owner re-checks the inbox when its poll returns
  }
}

void LocalPool::retire(TaskHeader& task) noexcept { owned_.erase(task); }

void LocalPool::run_until_complete(const TaskHeader& root) {
  while (!root.is_complete()) {
    TaskHeader* task = queue_.pop_front();
    if (task == nullptr) {
      run_once(std::chrono::milliseconds(-1));  // drains the inbox, else sleeps
      continue;
    }
    if (run_task(*task)) queue_.push_back(*task);  // it yielded
    if (++since_io_poll_ >= tasks_between_io_polls) poll_io_and_inbox();
  }
}

// A busy pool still looks at I/O, timers and other threads' wakes every `tasks_between_io_polls` tasks (tokio's
// event interval); an idle one at once (run_once).
void LocalPool::poll_io_and_inbox() {
  since_io_poll_ = 0;
  reactor_.poll(std::chrono::milliseconds(0));
  inbox_.drain_into(queue_);
}

void LocalPool::run_once(std::chrono::milliseconds sleep_limit) {
  inbox_.drain_into(queue_);
  if (TaskHeader* task = queue_.pop_front()) {
    if (run_task(*task)) queue_.push_back(*task);  // it yielded
    if (++since_io_poll_ >= tasks_between_io_polls) poll_io_and_inbox();
    return;
  }
  since_io_poll_ = 0;
  // Nothing runnable: sleep until an fd edge, a timer, or another thread's wake (inbox push + notify).
  reactor_.poll(sleep_limit);
}

}  // namespace tvt::coro::detail
