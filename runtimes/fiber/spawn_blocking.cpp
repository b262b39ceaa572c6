// The blocking pool behind spawn_blocking. Invariants: spawn_blocking.hpp. The pool object is never destroyed
// (threads parked on it may outlive main's locals); it owns no memory the process needs back.
#include "fiber/spawn_blocking.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace tvt::fiber::detail {
namespace {

class BlockingPool {
 public:
  void submit(BlockingJob* job) {
    std::unique_lock lock(mutex_);
    job->next = nullptr;
    *tail_ = job;
    tail_ = &job->next;
    if (idle_threads_ == 0 && threads_ < max_blocking_threads) {
      ++threads_;
      std::thread([this] { work(); }).detach();
    } else {
      ready_.notify_one();
    }
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_threads_;
      ready_.wait(lock, [&] { return head_ != nullptr; });
      --idle_threads_;
      BlockingJob* job = head_;
      head_ = job->next;
      if (head_ == nullptr) tail_ = &head_;
      lock.unlock();
      job->run(job);
      make_ready(job->fiber);  // the job's memory belongs to the fiber again from here on
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  BlockingJob* head_ = nullptr;
  BlockingJob** tail_ = &head_;
  unsigned threads_ = 0;
  unsigned idle_threads_ = 0;
};

}  // namespace

void submit_blocking(BlockingJob* job) {
  static auto* pool = new BlockingPool;  // intentionally leaked, see above
  pool->submit(job);
}

}  // namespace tvt::fiber::detail
