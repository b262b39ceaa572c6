// bench_micro_coro: the coroutine runtime's own costs (issue 3's targets), as regression figures -- not a general
// claim about real-world performance.
// Measures: spawn_local+join on one thread; spawn+join on the pool (from a pool task); awaiting a task that completes
// at once (create + symmetric transfer in and out + destroy), and the same with a plain lazy coroutine as its floor
// (BM_AwaitReadyTask/model:raw-coroutine, models/raw_lazy_task.hpp); yield_now (requeue + resume); channel ping-pong between
// two tasks on one thread (one round trip); memory per task parked on a channel at 1,000,000 (RSS delta / N, in a
// forked child); memory per task awaiting a read on an idle TCP connection at 19,000 (RSS delta against the same
// sockets without tasks, in a forked child; the peers live in another child).
// Does not measure: I/O throughput (that is loadgen's), cross-thread wake latency, or allocator behaviour over time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "coro/block_on.hpp"
#include "coro/channel.hpp"
#include "coro/spawn.hpp"
#include "coro/tcp_stream.hpp"
#include "coro/thread_pool.hpp"
#include "coro/yield_now.hpp"
#include "micro_main.hpp"
#include "models/raw_lazy_task.hpp"
#include "net/socket.hpp"

namespace tvt::micro {
namespace {

using namespace tvt::coro;

Task<void> noop() { co_return; }
Task<int> ready_value(int x) { co_return x; }

void BM_CoroSpawnLocalJoin(benchmark::State& state) {
  block_on([](benchmark::State& s) -> Task<void> {
    for (auto _ : s) co_await spawn_local(noop());
  }(state));
}

void BM_CoroSpawnJoinPool(benchmark::State& state) {
  ThreadPool pool(static_cast<unsigned>(state.range(0)));
  block_on([](ThreadPool& p, benchmark::State& s) -> Task<void> {
    co_await p.spawn([](benchmark::State& st) -> Task<void> {
      for (auto _ : st) co_await spawn(noop());  // on a worker: the pool's spawn
    }(s));
  }(pool, state));
}

void BM_CoroAwaitReadyTask(benchmark::State& state) {
  block_on([](benchmark::State& s) -> Task<void> {
    int sum = 0;
    for (auto _ : s) sum += co_await ready_value(1);
    benchmark::DoNotOptimize(sum);
  }(state));
}

RawLazyTask<int> raw_ready_value(int x) { co_return x; }

void BM_RawAwaitReadyTask(benchmark::State& state) {
  auto root = [](benchmark::State& s) -> RawEagerRoot {
    int sum = 0;
    for (auto _ : s) sum += co_await raw_ready_value(1);
    benchmark::DoNotOptimize(sum);
  }(state);
  if (!root.done()) state.SkipWithError("a ready await suspended");
}

void BM_CoroYieldNow(benchmark::State& state) {
  block_on([](benchmark::State& s) -> Task<void> {
    for (auto _ : s) co_await yield_now();
  }(state));
}

void BM_CoroChannelPingPong(benchmark::State& state) {
  block_on([](benchmark::State& s) -> Task<void> {
    auto [to_echo, echo_in] = channel<int>(1);
    auto [echo_out, from_echo] = channel<int>(1);
    auto echo = spawn_local([](Receiver<int> in, Sender<int> out) -> Task<void> {
      while (auto v = co_await in.recv()) co_await out.send(*v);
    }(std::move(echo_in), std::move(echo_out)));
    for (auto _ : s) {
      co_await to_echo.send(1);
      benchmark::DoNotOptimize(co_await from_echo.recv());
    }
    { auto close = std::move(to_echo); }
    co_await echo;
  }(state));
}

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

// Runs `measure` (returns bytes per unit, or < 0 on failure) in a fresh child so earlier benchmarks' freed memory
// cannot hide the cost.
template <class F>
double in_child(F measure) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    ::close(fds[0]);
    double result = -1;
    try {
      result = measure();
    } catch (...) {
    }
    [[maybe_unused]] auto n = ::write(fds[1], &result, sizeof result);
    _exit(0);
  }
  ::close(fds[1]);
  double result = -1;
  if (::read(fds[0], &result, sizeof result) != sizeof result) result = -1;
  ::close(fds[0]);
  waitpid(pid, nullptr, 0);
  return result;
}

void BM_CoroParkedOnChannel(benchmark::State& state) {
  const auto tasks = static_cast<std::size_t>(state.range(0));
  double bytes_per_task = -1;
  for (auto _ : state) {
    bytes_per_task = in_child([tasks] {
      return block_on([](std::size_t n) -> Task<double> {
        auto [tx, rx] = channel<int>(1);
        co_await tx.send(0);  // full: every sender below parks
        std::vector<JoinHandle<void>> handles;
        handles.reserve(n);
        const long before = rss_bytes();
        for (std::size_t i = 0; i < n; ++i)
          handles.push_back(spawn_local([](Sender<int> out) -> Task<void> { co_await out.send(1); }(tx)));
        co_await yield_now();  // all of them run once and park
        const long parked = rss_bytes();
        co_return static_cast<double>(parked - before) / static_cast<double>(n);
      }(tasks));
    });
  }
  state.counters["bytes_per_task"] = bytes_per_task;
  if (bytes_per_task < 0) state.SkipWithError("child failed");
}

// A child that accepts and holds connections (their peer ends), so the measuring process owns one fd per socket.
pid_t start_peer_holder(std::uint16_t& port) {
  auto listener = net::listen_tcp("127.0.0.1", 0);
  port = net::local_port(listener.get());
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<int> held;
    for (;;) {
      const int fd = ::accept(listener.get(), nullptr, nullptr);
      if (fd >= 0) held.push_back(fd);
    }
  }
  return pid;
}

Task<void> idle_reader(TcpStream s) {
  static thread_local std::array<char, 4096> scratch;
  for (;;) {
    const auto n = s.try_read(scratch);
    if (!n) {
      co_await s.readable();
      continue;
    }
    if (*n == 0) co_return;
  }
}

void BM_CoroIdleSocketTasks(benchmark::State& state) {
  const auto tasks = static_cast<std::size_t>(state.range(0));
  double bytes_per_task = -1;
  for (auto _ : state) {
    bytes_per_task = in_child([tasks] {
      std::uint16_t port = 0;
      const pid_t holder = start_peer_holder(port);
      std::vector<net::UniqueFd> sockets;
      sockets.reserve(tasks);
      for (std::size_t i = 0; i < tasks; ++i) sockets.push_back(net::connect_tcp("127.0.0.1", port));
      const double result = block_on([](std::vector<net::UniqueFd>& fds) -> Task<double> {
        std::vector<TcpStream> streams;  // made before the baseline: the sockets alone, no tasks
        streams.reserve(fds.size());
        for (auto& fd : fds) streams.emplace_back(std::move(fd));
        co_await yield_now();
        const long before = rss_bytes();
        std::vector<JoinHandle<void>> handles;
        handles.reserve(streams.size());
        for (auto& s : streams) handles.push_back(spawn_local(idle_reader(std::move(s))));
        co_await yield_now();  // every task reads (EAGAIN), registers with the reactor and parks
        const long parked = rss_bytes();
        co_return static_cast<double>(parked - before) / static_cast<double>(streams.size());
      }(sockets));
      kill(holder, SIGKILL);
      waitpid(holder, nullptr, 0);
      return result;
    });
  }
  state.counters["bytes_per_task"] = bytes_per_task;
  if (bytes_per_task < 0) state.SkipWithError("child failed (open-file limit?)");
}

}  // namespace

void register_benchmarks(const MicroOptions& options) {
  benchmark::RegisterBenchmark("BM_SpawnLocalJoin/model:coro", BM_CoroSpawnLocalJoin);
  benchmark::RegisterBenchmark("BM_SpawnJoin/model:coro-pool", BM_CoroSpawnJoinPool)->ArgName("workers")->Arg(1)->Arg(2);
  benchmark::RegisterBenchmark("BM_AwaitReadyTask/model:coro", BM_CoroAwaitReadyTask);
  benchmark::RegisterBenchmark("BM_AwaitReadyTask/model:raw-coroutine", BM_RawAwaitReadyTask);
  benchmark::RegisterBenchmark("BM_YieldNow/model:coro", BM_CoroYieldNow);
  benchmark::RegisterBenchmark("BM_ChannelPingPong/model:coro", BM_CoroChannelPingPong);
  benchmark::RegisterBenchmark("BM_ParkedOnChannel/model:coro", BM_CoroParkedOnChannel)
      ->ArgName("tasks")
      ->Arg(static_cast<long>(options.size(1'000'000, 1'000)))
      ->Iterations(1)
      ->Repetitions(1);
  benchmark::RegisterBenchmark("BM_IdleSocketTasks/model:coro", BM_CoroIdleSocketTasks)
      ->ArgName("tasks")
      ->Arg(static_cast<long>(options.size(19'000, 100)))
      ->Iterations(1)
      ->Repetitions(1);
}

}  // namespace tvt::micro
