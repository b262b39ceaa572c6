#pragma once
// Model "threads": one std::thread per unit (default 8 MiB virtual stack), blocking on futexes.
// Invariants: a Baton is a three-state futex word (empty, posted, waiter asleep) so that `post` makes a system call
// only when the other side is really asleep; a Gate is a futex word that goes 0 -> 1 once and wakes every waiter.
// Yield is sched_yield(2): the kernel gives no turn order, so "units in turn" is only approximate for threads.
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "models/placement.hpp"

namespace tvt::micro {

namespace futex {
inline void wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
inline void wake(std::atomic<std::uint32_t>& word, int waiters) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, waiters, nullptr, nullptr, 0);
}
}  // namespace futex

// The CPUs this process may run on, in order; pinning picks the first one or two.
std::vector<int> allowed_cpus();

// How many more threads this machine lets us create now, leaving headroom for everyone else on it:
// min(pid_max, threads-max) - threads alive machine-wide - headroom, and at most (vm.max_map_count - our mappings) / 2
// (a thread stack is two mappings: the stack and its guard page).
std::size_t threads_available(std::size_t headroom);

struct ThreadsModel {
  static constexpr std::string_view name = "threads";
  static constexpr std::size_t max_parked_units = 10'000;  // plus the runtime-probed largest, see bench_memory.cpp
  static constexpr std::size_t max_skynet_leaves = 10'000;  // 11,111 threads alive at once; pid_max is 32,768
  static constexpr bool supports_cross_thread = true;

  class Baton {
   public:
    void post() {
      // seq_cst exchange: publishes the post and observes a sleeping waiter in one step.
      if (state_.exchange(posted) == waiter_asleep) futex::wake(state_, 1);
    }
    void wait() {
      for (;;) {
        std::uint32_t seen = state_.load();
        if (seen == posted) {
          if (state_.compare_exchange_weak(seen, empty)) return;
          continue;
        }
        if (seen == empty && !state_.compare_exchange_weak(seen, waiter_asleep)) continue;
        futex::wait(state_, waiter_asleep);
      }
    }

   private:
    static constexpr std::uint32_t empty = 0, posted = 1, waiter_asleep = 2;
    std::atomic<std::uint32_t> state_{empty};
  };
  using CrossThreadBaton = Baton;

  class Gate {
   public:
    void wait() {
      // acquire: pairs with open()'s release, so whatever the opener wrote before opening is visible.
      while (open_.load(std::memory_order_acquire) == 0) futex::wait(open_, 0);
    }
    void open() {
      open_.store(1, std::memory_order_release);
      futex::wake(open_, INT_MAX);
    }

   private:
    std::atomic<std::uint32_t> open_{0};
  };

  class JoinSet {
   public:
    template <class F>
    void spawn(F&& fn) {
      threads_.emplace_back(std::forward<F>(fn));
    }
    void join_all() {
      for (auto& t : threads_) t.join();
      threads_.clear();
    }
    ~JoinSet() { join_all(); }

   private:
    std::vector<std::thread> threads_;
  };

  static void yield() { sched_yield(); }

  class Runtime {
   public:
    template <class F>
    void block_on(F&& root) {
      root();
    }

    // same_thread: both threads pinned to one CPU (the closest a thread gets to "one thread"); across_threads: two.
    template <class A, class B>
    void run_pair(Placement placement, A&& a, B&& b) {
      const std::vector<int> cpus = allowed_cpus();
      if (placement == Placement::across_threads && cpus.size() < 2) throw std::runtime_error("needs two CPUs");
      const int cpu_a = cpus.at(0);
      const int cpu_b = placement == Placement::same_thread ? cpu_a : cpus.at(1);
      std::thread thread_a([&] {
        pin(cpu_a);
        a();
      });
      std::thread thread_b([&] {
        pin(cpu_b);
        b();
      });
      thread_a.join();
      thread_b.join();
    }

   private:
    static void pin(int cpu) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof set, &set);
    }
  };
};

}  // namespace tvt::micro
