// The scheduler's shared state: injection queue, idle workers, the live-fiber count. Invariants: scheduler.hpp.
#include "fiber/scheduler.hpp"

#include <stdexcept>
#include <thread>

#include "fiber/detail/worker.hpp"

namespace tvt::fiber {

namespace detail {
void set_current_worker(Worker* w);
}

Scheduler::Scheduler(Options options)
    : pool_(StackPool::Options{.stack_size_bytes = options.stack_size_bytes, .policy = options.guard_policy}) {
  const unsigned n = options.workers == 0 ? 1 : options.workers;
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<detail::Worker>(*this, i, pool_));
}

Scheduler::~Scheduler() = default;

Scheduler::Entered::Entered(Scheduler& s) : scheduler_(s) {
  if (detail::current_worker() != nullptr)
    throw std::logic_error("tvt::fiber: block_on called on a fiber worker (spawn and join instead)");
  s.done_.store(false);
  detail::set_current_worker(s.workers_[0].get());
}

Scheduler::Entered::~Entered() { detail::set_current_worker(nullptr); }

void Scheduler::run_workers() {
  std::vector<std::thread> threads;
  threads.reserve(workers_.size() - 1);
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    detail::Worker* w = workers_[i].get();
    threads.emplace_back([w] {
      detail::set_current_worker(w);
      w->run();
      detail::set_current_worker(nullptr);
    });
  }
  workers_[0]->run();
  for (auto& t : threads) t.join();
}

detail::Worker* Scheduler::pop_idle_worker() {
  if (idle_.empty()) return nullptr;
  detail::Worker* w = idle_.back();
  idle_.pop_back();
  w->idle = false;
  idle_count_.store(idle_.size(), std::memory_order_relaxed);
  return w;
}

void Scheduler::inject(detail::Context* fiber) {
  detail::Worker* wake = nullptr;
  {
    std::lock_guard lock(mutex_);
    injection_.push_back(fiber);
    injected_count_.store(++injected_, std::memory_order_relaxed);
    wake = pop_idle_worker();
  }
  if (wake != nullptr) wake->reactor.notify();
}

void Scheduler::share(detail::Worker& from) {
  detail::ContextList moved;
  // Called with the fiber `from` runs next already taken off its queue: half of the rest, rounded up, so that a
  // queue of one more fiber still gives one away.
  const std::size_t n = (from.ready.count() + 1) / 2;
  for (std::size_t i = 0; i < n; ++i) moved.push_back(from.ready.pop_front());
  detail::Worker* wake = nullptr;
  {
    std::lock_guard lock(mutex_);
    injected_ += n;
    injection_.splice_back(moved);
    injected_count_.store(injected_, std::memory_order_relaxed);
    wake = pop_idle_worker();
  }
  if (wake != nullptr) wake->reactor.notify();
}

void Scheduler::take_injected(detail::Worker& w) {
  std::lock_guard lock(mutex_);
  // A fair share, so that one worker waking up does not take what others were notified for.
  const std::size_t n = workers_.size() == 1 ? injected_ : (injected_ + 1) / 2;
  for (std::size_t i = 0; i < n; ++i) w.ready.push_back(injection_.pop_front());
  injected_ -= n;
  injected_count_.store(injected_, std::memory_order_relaxed);
}

bool Scheduler::prepare_idle(detail::Worker& w) {
  std::lock_guard lock(mutex_);
  if (!injection_.empty()) {
    const std::size_t n = workers_.size() == 1 ? injected_ : (injected_ + 1) / 2;
    for (std::size_t i = 0; i < n; ++i) w.ready.push_back(injection_.pop_front());
    injected_ -= n;
    injected_count_.store(injected_, std::memory_order_relaxed);
    return false;
  }
  if (done_.load(std::memory_order_relaxed)) return false;  // relaxed: written under this same mutex
  w.idle = true;
  idle_.push_back(&w);
  idle_count_.store(idle_.size(), std::memory_order_relaxed);
  return true;
}

void Scheduler::finish_idle(detail::Worker& w) {
  std::lock_guard lock(mutex_);
  if (!w.idle) return;
  w.idle = false;
  std::erase(idle_, &w);
  idle_count_.store(idle_.size(), std::memory_order_relaxed);
}

void Scheduler::fiber_started() { live_.fetch_add(1, std::memory_order_relaxed); }

void Scheduler::fiber_finished() {
  if (live_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  {
    std::lock_guard lock(mutex_);
    done_.store(true, std::memory_order_release);
    for (auto* w : idle_) w->idle = false;
    idle_.clear();
    idle_count_.store(0, std::memory_order_relaxed);
  }
  for (auto& w : workers_) w->reactor.notify();
}

}  // namespace tvt::fiber
