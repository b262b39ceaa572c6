// Slide: "a long computation starves the other tasks" -- tasks switch only at an await that returns Pending, so a
// computation with no await holds its thread: every other task on it waits (threads do not have this problem: the
// OS preempts them). A ticker task wants to run every 5 ms next to a CPU-heavy digest (the compute workload's
// function), three ways, each with the ticker's longest measured gap:
//   inline          the digest runs in one go on block_on's thread: the ticker stops for the whole computation
//   yield_now       the digest yields every N KiB: the ticker runs between chunks. Its gap is not one chunk but
//                   about 61: the ticker is woken by a timer, and a busy executor looks at timers and I/O once every
//                   61 task runs (tasks_between_io_polls, as tokio's event_interval), so N sets the gap
//   spawn_blocking  the digest runs on the blocking pool: this thread stays free for the ticker
//   starvation [--mib M] [--yield-kib N]         (default: 128 MiB, yield every 16 KiB)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "coro/block_on.hpp"
#include "coro/sleep.hpp"
#include "coro/spawn.hpp"
#include "coro/spawn_blocking.hpp"
#include "coro/yield_now.hpp"
#include "protocol/compute.hpp"

using namespace tvt::coro;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The same CPU work in every variant: chunks of `kib` KiB of digest, folded together.
std::uint64_t digest_chunk(std::uint32_t kib, std::uint64_t acc) {
  return acc * 31 + tvt::protocol::compute_digest(kib);
}

struct Ticks {
  Clock::duration longest{};
  int count = 0;
};

// Ticks every 5 ms until told to stop; returns the longest gap between two ticks.
Task<Ticks> ticker(std::shared_ptr<std::atomic<bool>> stop) {
  Ticks t;
  auto last = Clock::now();
  while (!stop->load()) {
    co_await sleep(5ms);
    const auto now = Clock::now();
    t.longest = std::max(t.longest, now - last);
    ++t.count;
    last = now;
  }
  co_return t;
}

template <class Compute>
Task<void> measure(const char* how, Compute compute) {
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto ticks = spawn_local(ticker(stop));
  co_await sleep(20ms);  // let the ticker settle
  const auto start = Clock::now();
  co_await compute();
  const auto took = Clock::now() - start;
  stop->store(true);
  const Ticks t = co_await ticks;
  std::printf("%-15s computation %6.1f ms, ticks %3d, longest ticker gap %6.1f ms\n", how,
              std::chrono::duration<double, std::milli>(took).count(), t.count,
              std::chrono::duration<double, std::milli>(t.longest).count());
}

}  // namespace

int main(int argc, char** argv) {
  std::uint32_t mib = 128, yield_kib = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--mib") mib = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    if (flag == "--yield-kib") yield_kib = std::max(1u, static_cast<std::uint32_t>(std::stoul(argv[i + 1])));
  }
  const std::uint32_t total_kib = mib * 1024;
  std::printf("ticker every 5 ms next to %u MiB of digest (yield every %u KiB)\n", mib, yield_kib);

  block_on(measure("inline", [&]() -> Task<void> {
    std::uint64_t acc = 0;
    for (std::uint32_t done = 0; done < total_kib; done += yield_kib) acc = digest_chunk(yield_kib, acc);
    std::printf("  (digest %016llx)\n", static_cast<unsigned long long>(acc));
    co_return;  // no await inside: nothing else on this thread runs until the loop ends
  }));
  block_on(measure("yield_now", [&]() -> Task<void> {
    std::uint64_t acc = 0;
    for (std::uint32_t done = 0; done < total_kib; done += yield_kib) {
      acc = digest_chunk(yield_kib, acc);
      co_await yield_now();  // let the other tasks of this thread run, then continue
    }
    std::printf("  (digest %016llx)\n", static_cast<unsigned long long>(acc));
  }));
  block_on(measure("spawn_blocking", [&]() -> Task<void> {
    // Named, not a temporary inside the co_await (see tcp_resolve.cpp: g++ 12 and capturing lambdas there).
    auto job = spawn_blocking([total_kib, yield_kib] {
      std::uint64_t acc = 0;
      for (std::uint32_t done = 0; done < total_kib; done += yield_kib) acc = digest_chunk(yield_kib, acc);
      return acc;
    });
    const std::uint64_t acc = co_await job;
    std::printf("  (digest %016llx)\n", static_cast<unsigned long long>(acc));
  }));
}
