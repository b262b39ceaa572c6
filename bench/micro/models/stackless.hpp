#pragma once
// The contract a stackless model (raw C++20 coroutines, Asio, our coro runtimes) gives the micro benchmarks, and the
// unit bodies written once over it. A unit is a coroutine returning `M::Task`; waiting is `co_await`. Every operation
// returns the duration of the phase it is about, timed inside the model.
//
// Primitives a model provides:
//   Task              the coroutine type of a unit (void result).
//   Runtime           constructed once per benchmark and reused by every
//                     iteration (pools stay warm, as in a running server); `block_on(task)` runs the root task to completion.
//   JoinSet           `spawn(task)` starts a unit; `co_await join_all()` resumes once every spawned unit finished.
//   Baton             an auto-reset binary semaphore between two units of one Runtime: `post()`, `co_await wait()`.
//   CrossThreadBaton  the same between the two units of `run_pair(Placement::across_threads, ...)`.
//   Gate              a one-shot broadcast: `co_await wait()` parks until `open()`.
//   yield()           `co_await M::yield()` lets every other ready unit run first.
//   name, max_parked_units, max_skynet_leaves, supports_cross_thread.
// Optional: `rt.run_pair(Placement, task_a, task_b)`; without it a same-thread pair is spawned from a root.
// Unit bodies are free functions taking references, never capturing lambdas: a coroutine lambda's captures die with
// the lambda object, before the coroutine finishes.
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

template <class M>
concept StacklessModel =
    requires(typename M::Runtime& runtime, typename M::JoinSet& join_set, typename M::Baton& baton,
             typename M::CrossThreadBaton& cross_baton, typename M::Gate& gate, typename M::Task task) {
      { M::name } -> std::convertible_to<std::string_view>;
      { M::max_parked_units } -> std::convertible_to<std::size_t>;
      { M::max_skynet_leaves } -> std::convertible_to<std::size_t>;
      { M::supports_cross_thread } -> std::convertible_to<bool>;
      runtime.block_on(std::move(task));
      join_set.spawn(std::move(task));
      join_set.join_all();
      baton.post();
      baton.wait();
      cross_baton.post();
      cross_baton.wait();
      gate.wait();
      gate.open();
      M::yield();
    };

namespace stackless_bodies {

template <class M>
typename M::Task empty_unit() {
  co_return;
}

template <class M>
typename M::Task spawn_join_sequential_root(std::size_t count, Nanoseconds& elapsed) {
  const auto start = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    typename M::JoinSet join_set;
    join_set.spawn(empty_unit<M>());
    co_await join_set.join_all();
  }
  elapsed = since(start);
}

template <class M>
typename M::Task spawn_all_then_join_root(std::size_t count, Nanoseconds& elapsed) {
  const auto start = Clock::now();
  typename M::JoinSet join_set;
  for (std::size_t i = 0; i < count; ++i) join_set.spawn(empty_unit<M>());
  co_await join_set.join_all();
  elapsed = since(start);
}

template <class M, class BatonType>
typename M::Task pinger(BatonType& ping, BatonType& pong, std::size_t round_trips, Nanoseconds& elapsed) {
  const auto start = Clock::now();
  for (std::size_t i = 0; i < round_trips; ++i) {
    ping.post();
    co_await pong.wait();
  }
  elapsed = since(start);
}

template <class M, class BatonType>
typename M::Task ponger(BatonType& ping, BatonType& pong, std::size_t round_trips) {
  for (std::size_t i = 0; i < round_trips; ++i) {
    co_await ping.wait();
    pong.post();
  }
}

template <class M>
typename M::Task pair_root(typename M::Task a, typename M::Task b) {
  typename M::JoinSet join_set;
  join_set.spawn(std::move(a));
  join_set.spawn(std::move(b));
  co_await join_set.join_all();
}

template <class M>
typename M::Task yielder(typename M::Gate& start_gate, std::size_t yields_each) {
  co_await start_gate.wait();
  for (std::size_t y = 0; y < yields_each; ++y) co_await M::yield();
}

template <class M>
typename M::Task yield_ring_root(std::size_t units, std::size_t yields_each, Nanoseconds& elapsed) {
  typename M::Gate start_gate;
  typename M::JoinSet join_set;
  for (std::size_t i = 0; i < units; ++i) join_set.spawn(yielder<M>(start_gate, yields_each));
  const auto start = Clock::now();
  start_gate.open();
  co_await join_set.join_all();
  elapsed = since(start);
}

template <class M>
typename M::Task skynet_node(std::uint64_t number, std::size_t size, std::uint64_t& out) {
  if (size == 1) {
    out = number;
    co_return;
  }
  std::uint64_t child_sums[10] = {};
  const std::size_t child_size = size / 10;
  typename M::JoinSet join_set;
  for (std::size_t i = 0; i < 10; ++i) join_set.spawn(skynet_node<M>(number + i * child_size, child_size, child_sums[i]));
  co_await join_set.join_all();
  std::uint64_t total = 0;
  for (std::uint64_t s : child_sums) total += s;
  out = total;
}

template <class M>
typename M::Task skynet_root(std::size_t leaves, std::uint64_t& sum, Nanoseconds& elapsed) {
  const auto start = Clock::now();
  typename M::JoinSet join_set;
  join_set.spawn(skynet_node<M>(0, leaves, sum));
  co_await join_set.join_all();
  elapsed = since(start);
}

template <class M>
typename M::Task parked_unit(typename M::Gate& gate, typename M::Baton& all_parked, std::atomic<std::size_t>& count,
                             std::size_t units) {
  // acq_rel: the unit that brings the count to `units` posts after everyone else's increment.
  if (count.fetch_add(1, std::memory_order_acq_rel) + 1 == units) all_parked.post();
  co_await gate.wait();
}

template <class M>
typename M::Task park_root(std::size_t units, MemorySample& before, MemorySample& parked, Nanoseconds& elapsed) {
  typename M::Gate gate;
  typename M::Baton all_parked;
  std::atomic<std::size_t> parked_count{0};
  typename M::JoinSet join_set;
  before = sample_memory();
  const auto start = Clock::now();
  for (std::size_t i = 0; i < units; ++i) join_set.spawn(parked_unit<M>(gate, all_parked, parked_count, units));
  co_await all_parked.wait();
  elapsed = since(start);
  parked = sample_memory();
  gate.open();
  co_await join_set.join_all();
}

}  // namespace stackless_bodies

template <StacklessModel M>
struct StacklessOps {
  static constexpr bool stackful = false;

  static Nanoseconds spawn_join_sequential(typename M::Runtime& runtime, std::size_t count) {
    Nanoseconds elapsed{};
    runtime.block_on(stackless_bodies::spawn_join_sequential_root<M>(count, elapsed));
    return elapsed;
  }

  static Nanoseconds spawn_all_then_join(typename M::Runtime& runtime, std::size_t count) {
    Nanoseconds elapsed{};
    runtime.block_on(stackless_bodies::spawn_all_then_join_root<M>(count, elapsed));
    return elapsed;
  }

  template <Placement placement>
  static Nanoseconds ping_pong(typename M::Runtime& runtime, std::size_t round_trips) {
    using BatonType = std::conditional_t<placement == Placement::same_thread, typename M::Baton,
                                         typename M::CrossThreadBaton>;
    BatonType ping, pong;
    Nanoseconds elapsed{};
    auto a = stackless_bodies::pinger<M, BatonType>(ping, pong, round_trips, elapsed);
    auto b = stackless_bodies::ponger<M, BatonType>(ping, pong, round_trips);
    if constexpr (requires { runtime.run_pair(placement, std::move(a), std::move(b)); }) {
      runtime.run_pair(placement, std::move(a), std::move(b));
    } else {
      runtime.block_on(stackless_bodies::pair_root<M>(std::move(a), std::move(b)));
    }
    return elapsed;
  }

  static Nanoseconds yield_ring(typename M::Runtime& runtime, std::size_t units, std::size_t yields_each) {
    Nanoseconds elapsed{};
    runtime.block_on(stackless_bodies::yield_ring_root<M>(units, yields_each, elapsed));
    return elapsed;
  }

  static Nanoseconds skynet(typename M::Runtime& runtime, std::size_t leaves, std::uint64_t& sum) {
    Nanoseconds elapsed{};
    runtime.block_on(stackless_bodies::skynet_root<M>(leaves, sum, elapsed));
    return elapsed;
  }

  static Nanoseconds park(typename M::Runtime& runtime, std::size_t units, MemorySample& before, MemorySample& parked) {
    Nanoseconds elapsed{};
    runtime.block_on(stackless_bodies::park_root<M>(units, before, parked, elapsed));
    return elapsed;
  }
};

}  // namespace tvt::micro
