// The pool behind spawn_blocking.
//
// Invariants: `queue_` (FIFO of jobs, linked through BlockingJobBase::next), `idle_` and `threads_` are guarded by
// `mutex_`. A job is handed to an idle thread if there is one, else a new thread is started (up to max_threads; past
// that, jobs wait in the queue). Idle threads retire after idle_keepalive. Shutdown (process exit): stop, wake all,
// join; jobs still queued then are run by the exiting threads first.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "coro/spawn_blocking.hpp"

namespace tvt::coro::detail {
namespace {

class BlockingPool {
 public:
  ~BlockingPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void submit(BlockingJobBase& job) {
    std::unique_lock lock(mutex_);
    job.next = nullptr;
    if (tail_ != nullptr)
      tail_->next = &job;
    else
      head_ = &job;
    tail_ = &job;
    if (idle_ > 0) {
      lock.unlock();
      wake_.notify_one();
      return;
    }
    if (live_ < max_threads) {
      ++live_;
      reap_finished_locked();
      threads_.emplace_back([this] { work(); });
    }
  }

 private:
  static constexpr unsigned max_threads = 64;
  static constexpr auto idle_keepalive = std::chrono::seconds(10);

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (head_ != nullptr) {
        BlockingJobBase* job = head_;
        head_ = job->next;
        if (head_ == nullptr) tail_ = nullptr;
        lock.unlock();
        job->run(job);
        lock.lock();
        continue;
      }
      if (stopping_) break;
      ++idle_;
      const bool woke = wake_.wait_for(lock, idle_keepalive, [&] { return head_ != nullptr || stopping_; });
      --idle_;
      if (!woke) break;  // idle too long: retire
    }
    --live_;
    finished_.push_back(std::this_thread::get_id());
  }

  // Under mutex_: joins threads that have retired, so threads_ does not grow without bound.
  void reap_finished_locked() {
    for (auto id : finished_) {
      for (auto it = threads_.begin(); it != threads_.end(); ++it) {
        if (it->get_id() == id) {
          it->detach();  // it has left work() and only returns now; detaching avoids joining under our lock
          threads_.erase(it);
          break;
        }
      }
    }
    finished_.clear();
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  BlockingJobBase* head_ = nullptr;
  BlockingJobBase* tail_ = nullptr;
  unsigned idle_ = 0;
  unsigned live_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::vector<std::thread::id> finished_;
};

BlockingPool& pool() {
  static BlockingPool instance;
  return instance;
}

}  // namespace

void submit_blocking(BlockingJobBase& job) { pool().submit(job); }

}  // namespace tvt::coro::detail
