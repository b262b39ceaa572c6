#pragma once
// spawn_blocking(f): runs blocking or CPU-heavy `f` on a separate pool of threads (grown on demand, idle threads
// retire), so it stalls no task. Returns a BlockingHandle<R>: `co_await` it (at most once, like a JoinHandle) for
// f's result (or its exception); dropping it detaches the job. The job itself cannot be cancelled once started (it is ordinary code).
#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "coro/detail/join_slot.hpp"
#include "coro/detail/result.hpp"
#include "coro/join_handle.hpp"

namespace tvt::coro {
namespace detail {

struct BlockingJobBase {
  BlockingJobBase* next = nullptr;
  void (*run)(BlockingJobBase*) noexcept = nullptr;
};
// Queues `job` on the blocking pool (blocking_pool.cpp); it runs exactly once.
void submit_blocking(BlockingJobBase& job);

template <class R>
struct BlockingResult : BlockingJobBase {
  // Two references: the job until it has run, the handle until dropped. acq_rel on the last: see TaskHeader.
  std::atomic<std::uint32_t> refs{2};
  JoinSlot join_;
  Result<R> result_;
  void (*destroy)(BlockingResult*) noexcept = nullptr;
  Result<R>& result() noexcept { return result_; }  // what JoinAwaiter reads
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(this);
  }
};

template <class R, class F>
struct BlockingJob final : BlockingResult<R> {
  explicit BlockingJob(F f) : fn(std::move(f)) {
    this->run = &run_job;
    this->destroy = [](BlockingResult<R>* self) noexcept { delete static_cast<BlockingJob*>(self); };
  }
  static void run_job(BlockingJobBase* base) noexcept {
    auto* self = static_cast<BlockingJob*>(base);
    try {
      if constexpr (std::is_void_v<R>) {
        self->fn();
        self->result_.set_value();
      } else {
        self->result_.set_value(self->fn());
      }
    } catch (...) {
      self->result_.set_exception(std::current_exception());
    }
    self->join_.complete();
    self->release();
  }
  F fn;
};

}  // namespace detail

template <class R>
class [[nodiscard]] BlockingHandle {
 public:
  explicit BlockingHandle(detail::BlockingResult<R>* job) noexcept : job_(job) {}
  BlockingHandle(BlockingHandle&& other) noexcept : job_(std::exchange(other.job_, {})) {}
  BlockingHandle& operator=(BlockingHandle&&) = delete;
  BlockingHandle(const BlockingHandle&) = delete;
  ~BlockingHandle() {
    if (auto* job = job_.release()) job->release();
  }
  bool is_finished() const noexcept { return job_.get()->join_.is_done(); }

  using Awaiter = detail::JoinAwaiter<detail::BlockingResult<R>, R>;
  // Throws std::logic_error when awaited twice.
  Awaiter operator co_await() & { return Awaiter{job_.take_for_await("coro::BlockingHandle")}; }
  Awaiter operator co_await() && { return Awaiter{job_.take_for_await("coro::BlockingHandle")}; }

 private:
  detail::AwaitOncePtr<detail::BlockingResult<R>> job_;
};

template <class F>
BlockingHandle<std::invoke_result_t<F&>> spawn_blocking(F f) {
  using R = std::invoke_result_t<F&>;
  auto* job = new detail::BlockingJob<R, F>(std::move(f));
  detail::submit_blocking(*job);
  return BlockingHandle<R>(job);
}

}  // namespace tvt::coro
