#pragma once
// The contract a stackful model (threads, Boost.Context, Boost.Fiber, our fiber runtimes) gives the micro benchmarks,
// and the unit bodies written once over it. A unit is a plain function that blocks: `baton.wait()` parks a fiber or
// blocks a thread. Every operation returns the duration of the phase it is about, timed inside the model.
//
// Primitives a model provides:
//   Runtime           constructed once per benchmark and reused by every
//                     iteration (pools stay warm, as in a running server); `block_on(f)` runs `f` as the root unit and returns when
//                     the root has returned (units the root spawned are joined by the root itself).
//   JoinSet           `spawn(f)` starts a unit running `f`; `join_all()` waits until every spawned unit has returned.
//   Baton             an auto-reset binary semaphore between two units of one Runtime (safe for however that
//                     runtime schedules them): `post()`, `wait()`.
//   CrossThreadBaton  the same between the two units of `run_pair(Placement::across_threads, ...)` (may be Baton).
//   Gate              a one-shot broadcast: `wait()` parks until `open()`.
//   yield()           lets every other ready unit run before this one runs again.
//   name, max_parked_units, max_skynet_leaves, supports_cross_thread.
// Optional: `rt.run_pair(Placement, a, b)` runs two units with a placement (threads pin them to cores); without it a
// same-thread pair is spawned from a root, and an across-threads pair needs `supports_cross_thread == false`.
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "models/clock.hpp"
#include "models/memory_probe.hpp"
#include "models/placement.hpp"

namespace tvt::micro {

using PlainFn = void (*)();

template <class M>
concept StackfulModel =
    requires(typename M::Runtime& runtime, typename M::JoinSet& join_set, typename M::Baton& baton,
             typename M::CrossThreadBaton& cross_baton, typename M::Gate& gate, PlainFn fn) {
      { M::name } -> std::convertible_to<std::string_view>;
      { M::max_parked_units } -> std::convertible_to<std::size_t>;
      { M::max_skynet_leaves } -> std::convertible_to<std::size_t>;
      { M::supports_cross_thread } -> std::convertible_to<bool>;
      runtime.block_on(fn);
      join_set.spawn(fn);
      join_set.join_all();
      baton.post();
      baton.wait();
      cross_baton.post();
      cross_baton.wait();
      gate.wait();
      gate.open();
      M::yield();
    };

// The unit bodies, once for every stackful model.
template <StackfulModel M>
struct StackfulOps {
  static constexpr bool stackful = true;

  // `count` times: spawn one empty unit and join it.
  static Nanoseconds spawn_join_sequential(typename M::Runtime& runtime, std::size_t count) {
    Nanoseconds elapsed{};
    runtime.block_on([&] {
      const auto start = Clock::now();
      for (std::size_t i = 0; i < count; ++i) {
        typename M::JoinSet join_set;
        join_set.spawn([] {});
        join_set.join_all();
      }
      elapsed = since(start);
    });
    return elapsed;
  }

  // Spawn `count` empty units, then join them all.
  static Nanoseconds spawn_all_then_join(typename M::Runtime& runtime, std::size_t count) {
    Nanoseconds elapsed{};
    runtime.block_on([&] {
      const auto start = Clock::now();
      typename M::JoinSet join_set;
      for (std::size_t i = 0; i < count; ++i) join_set.spawn([] {});
      join_set.join_all();
      elapsed = since(start);
    });
    return elapsed;
  }

  // Two units pass a baton back and forth `round_trips` times; timed inside the pinger, spawns excluded.
  template <Placement placement>
  static Nanoseconds ping_pong(typename M::Runtime& runtime, std::size_t round_trips) {
    using BatonType = std::conditional_t<placement == Placement::same_thread, typename M::Baton,
                                         typename M::CrossThreadBaton>;
    BatonType ping, pong;
    Nanoseconds elapsed{};
    auto pinger = [&] {
      const auto start = Clock::now();
      for (std::size_t i = 0; i < round_trips; ++i) {
        ping.post();
        pong.wait();
      }
      elapsed = since(start);
    };
    auto ponger = [&] {
      for (std::size_t i = 0; i < round_trips; ++i) {
        ping.wait();
        pong.post();
      }
    };
    if constexpr (requires { runtime.run_pair(placement, pinger, ponger); }) {
      runtime.run_pair(placement, pinger, ponger);
    } else {
      runtime.block_on([&] {
        typename M::JoinSet join_set;
        join_set.spawn(pinger);
        join_set.spawn(ponger);
        join_set.join_all();
      });
    }
    return elapsed;
  }

  // `units` units each yield `yields_each` times; all start parked on a gate so that spawning is not timed.
  static Nanoseconds yield_ring(typename M::Runtime& runtime, std::size_t units, std::size_t yields_each) {
    Nanoseconds elapsed{};
    runtime.block_on([&] {
      typename M::Gate start_gate;
      typename M::JoinSet join_set;
      for (std::size_t i = 0; i < units; ++i) {
        join_set.spawn([&] {
          start_gate.wait();
          for (std::size_t y = 0; y < yields_each; ++y) M::yield();
        });
      }
      const auto start = Clock::now();
      start_gate.open();
      join_set.join_all();
      elapsed = since(start);
    });
    return elapsed;
  }

  // Skynet: a 10-ary tree of units with `leaves` leaves; each leaf returns its number, each node the sum.
  static Nanoseconds skynet(typename M::Runtime& runtime, std::size_t leaves, std::uint64_t& sum) {
    Nanoseconds elapsed{};
    runtime.block_on([&] {
      const auto start = Clock::now();
      skynet_node(0, leaves, sum);
      elapsed = since(start);
    });
    return elapsed;
  }

  // Spawn `units` units that each park on one gate; sample memory once all are parked (the last one to park wakes
  // the root), then open the gate and join. Returns the time to spawn and park them all.
  static Nanoseconds park(typename M::Runtime& runtime, std::size_t units, MemorySample& before, MemorySample& parked) {
    Nanoseconds elapsed{};
    runtime.block_on([&] {
      typename M::Gate gate;
      typename M::Baton all_parked;
      std::atomic<std::size_t> parked_count{0};
      typename M::JoinSet join_set;
      before = sample_memory();
      const auto start = Clock::now();
      for (std::size_t i = 0; i < units; ++i) {
        join_set.spawn([&] {
          // acq_rel: the unit that brings the count to `units` posts after everyone else's increment.
          if (parked_count.fetch_add(1, std::memory_order_acq_rel) + 1 == units) all_parked.post();
          gate.wait();
        });
      }
      all_parked.wait();
      elapsed = since(start);
      parked = sample_memory();
      gate.open();
      join_set.join_all();
    });
    return elapsed;
  }

 private:
  static void skynet_node(std::uint64_t number, std::size_t size, std::uint64_t& out) {
    if (size == 1) {
      out = number;
      return;
    }
    std::uint64_t child_sums[10] = {};
    const std::size_t child_size = size / 10;
    typename M::JoinSet join_set;
    for (std::size_t i = 0; i < 10; ++i) {
      join_set.spawn([&, i] { skynet_node(number + i * child_size, child_size, child_sums[i]); });
    }
    join_set.join_all();
    std::uint64_t total = 0;
    for (std::uint64_t s : child_sums) total += s;
    out = total;
  }
};

}  // namespace tvt::micro
