#pragma once
// Models "fiber" and "fiber-mt": our stackful runtime (runtimes/fiber) through its public headers only. fiber = one
// worker (the caller of block_on); fiber-mt = two workers sharing work, so units may run and be woken on either
// thread (placement is the scheduler's work sharing, not ours: both ping-pong rows of fiber-mt measure the runtime as
// it schedules itself). Stacks: the runtime's default (64 KiB usable, guarded, pooled).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "fiber/channel.hpp"
#include "fiber/scheduler.hpp"
#include "fiber/spawn.hpp"
#include "fiber/this_fiber.hpp"

namespace tvt::micro {

template <unsigned Workers>
struct TvtFiberModel {
  static constexpr std::string_view name = Workers == 1 ? "fiber" : "fiber-mt";
  static constexpr std::size_t max_parked_units = 100'000;   // 1,000,000 stacks would touch ~4 GB
  static constexpr std::size_t max_skynet_leaves = 100'000;  // 111,111 stacks alive at once
  static constexpr bool supports_cross_thread = Workers > 1;

  class JoinSet {
   public:
    template <class F>
    void spawn(F&& fn) {
      handles_.push_back(tvt::fiber::spawn(std::forward<F>(fn)));
    }
    void join_all() {
      for (auto& handle : handles_) handle.join();
      handles_.clear();
    }

   private:
    std::vector<tvt::fiber::JoinHandle<void>> handles_;
  };

  // A channel of capacity one holding at most one token: a binary semaphore (thread-safe, as the channel is). The
  // calls a user's fibers make (try_send, receive). This process has one thread, so the channel's lock takes its
  // one-thread path (fiber/detail/spinlock.hpp), as `fiber`'s one-thread server does; with a second thread (fiber-mt)
  // each lock is an exchange: bench_micro_fiber FiberChannelRoundTrip/model:fiber/process_threads:2.
  class Baton {
   public:
    void post() {
      std::uint8_t token = 1;
      channel_.try_send(token);
    }
    void wait() { (void)channel_.receive(); }

   private:
    tvt::fiber::Channel<std::uint8_t> channel_{1};
  };
  using CrossThreadBaton = Baton;

  // Parked units wait on one channel; opening closes it, which wakes every receiver with nullopt.
  class Gate {
   public:
    void wait() { (void)channel_.receive(); }
    void open() { channel_.close(); }

   private:
    tvt::fiber::Channel<std::uint8_t> channel_{1};
  };

  static void yield() { tvt::fiber::this_fiber::yield(); }

  class Runtime {
   public:
    template <class F>
    void block_on(F&& root) {
      scheduler_.block_on(std::forward<F>(root));
    }

   private:
    tvt::fiber::Scheduler scheduler_{tvt::fiber::Scheduler::Options{.workers = Workers}};
  };
};

using FiberModel = TvtFiberModel<1>;
using FiberMtModel = TvtFiberModel<2>;

}  // namespace tvt::micro
