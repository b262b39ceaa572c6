#pragma once
// Model "boost-fiber": Boost.Fiber 1.74 as a user gets it, the ready-made stackful reference: the default round_robin
// scheduler on each thread, fixedsize (malloc) stacks of 64 KiB, channels for waiting. Units on two threads wake each
// other through Boost.Fiber's own remote-ready queue (its round_robin sleeps on a condition variable when idle).
#include <boost/fiber/all.hpp>
// Boost.Fiber leaks a function-like macro `cpu_relax()` that breaks any later declaration of that name (ours has
// one in runtimes/fiber). Its own headers are already expanded, so dropping the macro here is safe.
#undef cpu_relax
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "models/placement.hpp"

namespace tvt::micro {

struct BoostFiberModel {
  static constexpr std::string_view name = "boost-fiber";
  static constexpr std::size_t stack_bytes = 64 * 1024;
  static constexpr std::size_t max_parked_units = 100'000;   // 1,000,000 would touch ~8 GB of stack pages
  static constexpr std::size_t max_skynet_leaves = 100'000;  // 111,111 stacks alive at once
  static constexpr bool supports_cross_thread = true;

  class JoinSet {
   public:
    template <class F>
    void spawn(F&& fn) {
      fibers_.emplace_back(std::allocator_arg, boost::fibers::fixedsize_stack(stack_bytes), std::forward<F>(fn));
    }
    void join_all() {
      for (auto& f : fibers_) f.join();
      fibers_.clear();
    }
    ~JoinSet() { join_all(); }

   private:
    std::vector<boost::fibers::fiber> fibers_;
  };

  // A buffered channel of capacity 2 (Boost's minimum) holding at most one token: a binary semaphore.
  class Baton {
   public:
    void post() { channel_.try_push(token); }
    void wait() {
      std::uint8_t value = 0;
      channel_.pop(value);
    }

   private:
    static constexpr std::uint8_t token = 1;
    boost::fibers::buffered_channel<std::uint8_t> channel_{2};
  };
  using CrossThreadBaton = Baton;  // Boost.Fiber channels are thread-safe

  // Parked units wait on one channel; opening closes it, which wakes every waiter with `closed`.
  class Gate {
   public:
    void wait() {
      std::uint8_t value = 0;
      channel_.pop(value);
    }
    void open() { channel_.close(); }

   private:
    boost::fibers::buffered_channel<std::uint8_t> channel_{2};
  };

  static void yield() { boost::this_fiber::yield(); }

  class Runtime {
   public:
    // The calling thread's main fiber is the root; its scheduler is Boost.Fiber's default round_robin.
    template <class F>
    void block_on(F&& root) {
      root();
    }

    template <class A, class B>
    void run_pair(Placement placement, A&& a, B&& b) {
      if (placement == Placement::same_thread) {
        JoinSet join_set;
        join_set.spawn(std::forward<A>(a));
        join_set.spawn(std::forward<B>(b));
        join_set.join_all();
        return;
      }
      std::thread other([&] { b(); });  // b runs on the other thread's main fiber
      a();
      other.join();
    }
  };
};

}  // namespace tvt::micro
