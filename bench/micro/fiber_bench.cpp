// bench_micro_fiber: what the fiber runtime's own mechanisms cost (runtimes/fiber), beyond the per-model questions
// the other bench_micro_* files ask of every model. For regression tracking on this machine kind, not a general
// performance claim.
//   BM_FiberYieldRoundTrip      two fibers yield to each other on one worker: ns per round trip (two switches
//                               through the run queue). Floor: raw Boost.Context resume round trip (TARGETS.md).
//   BM_FiberChannelRoundTrip    two fibers on one worker pass an int through two Channel<int>(1) with the blocking
//                               send()/receive() a server would call: ns per round trip (two switches, each receive
//                               parked and handed its value by the other's send). Floor: bench_micro_switch
//                               BM_PingPong/model:raw-context/placement:same-thread. `process_threads:2`: the same in
//                               a fresh child with a second (idle) thread: the one-thread fast paths off, what a
//                               multi-threaded process's fibers pay (fiber-mt; thread CPU time of the worker).
//   BM_FiberSpawnJoin           spawn an empty fiber on a pooled stack and join it: ns per spawn+join.
//   BM_FiberParkedOnIdleSocket  N fibers each parked in SocketStream::read on an idle TCP connection (the clients
//                               live in another process): resident bytes per fiber, against the same N accepted
//                               sockets with no fiber. Run in a fresh child process per measurement.
//   BM_FiberParkedOnChannel     N fibers parked in Channel::receive: resident bytes per fiber, fresh child.
// Times are thread CPU time of the single worker (Google Benchmark's default), so a loaded machine inflates them
// less than wall time would; memory is VmRSS from /proc/self/status. Not measured here: multi-worker scaling.
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fiber/channel.hpp"
#include "fiber/scheduler.hpp"
#include "fiber/socket_stream.hpp"
#include "fiber/spawn.hpp"
#include "fiber/tcp.hpp"
#include "fiber/this_fiber.hpp"
#include "micro_main.hpp"
#include "net/socket.hpp"

namespace tvt::micro {
namespace {

namespace fiber = tvt::fiber;

std::size_t vm_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

void BM_FiberYieldRoundTrip(benchmark::State& state) {
  fiber::Scheduler scheduler;
  for (auto _ : state) {
    scheduler.block_on([&] {
      constexpr int rounds = 100'000;
      auto partner = fiber::spawn([] {
        for (int i = 0; i < rounds; ++i) fiber::this_fiber::yield();
      });
      for (int i = 0; i < rounds; ++i) fiber::this_fiber::yield();
      partner.join();
    });
  }
  state.counters["ns_per_round_trip"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 100'000,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

constexpr int channel_rounds = 100'000;

double thread_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// `channel_rounds` round trips through two Channel<int>(1) between two fibers on one worker. Returns the worker
// thread's CPU seconds for the round trips alone (spawn and join excluded), or -1 if a value was lost or reordered.
double channel_round_trips(fiber::Scheduler& scheduler) {
  double seconds = -1;
  scheduler.block_on([&] {
    fiber::Channel<int> requests(1), replies(1);
    auto partner = fiber::spawn([&] {
      while (std::optional<int> v = requests.receive()) replies.send(*v + 1);
    });
    int value = 0;
    const double start = thread_cpu_seconds();
    for (int i = 0; i < channel_rounds; ++i) {
      requests.send(value);
      value = replies.receive().value_or(-1);
    }
    const double elapsed = thread_cpu_seconds() - start;
    requests.close();
    partner.join();
    if (value == channel_rounds) seconds = elapsed;
  });
  return seconds;
}

void set_round_trip_counter(benchmark::State& state) {
  state.counters["ns_per_round_trip"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * channel_rounds,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_FiberChannelRoundTrip(benchmark::State& state) {
  fiber::Scheduler scheduler;
  for (auto _ : state)
    if (channel_round_trips(scheduler) < 0) state.SkipWithError("the channel lost or reordered a value");
  set_round_trip_counter(state);
}

void BM_FiberSpawnJoin(benchmark::State& state) {
  fiber::Scheduler scheduler;
  for (auto _ : state) {
    scheduler.block_on([] {
      for (int i = 0; i < 10'000; ++i) fiber::spawn([] {}).join();
    });
  }
  state.counters["ns_per_spawn_join"] = benchmark::Counter(static_cast<double>(state.iterations()) * 10'000,
                                                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Runs `measure` in a fresh child process and returns what it wrote (bytes per unit, seconds), or -1.
template <class F>
double in_child(F measure) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const double v = measure();
    [[maybe_unused]] auto n = ::write(fds[1], &v, sizeof v);
    ::_exit(0);
  }
  ::close(fds[1]);
  double v = -1;
  if (::read(fds[0], &v, sizeof v) != sizeof v) v = -1;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return v;
}

// The same round trips in a fresh child that has a second, idle thread, as a multi-threaded process has (fiber-mt's
// server): the runtime's one-thread fast paths are off there, so this is what such a process's fibers pay. Manual time:
// the worker thread's CPU time, measured in the child.
void BM_FiberChannelRoundTripTwoThreads(benchmark::State& state) {
  for (auto _ : state) {
    const double seconds = in_child([] {
      std::mutex mutex;
      std::condition_variable stop_changed;
      bool stop = false;
      std::thread idle([&] {
        std::unique_lock lock(mutex);
        stop_changed.wait(lock, [&] { return stop; });
      });
      fiber::Scheduler scheduler;
      const double cpu_seconds = channel_round_trips(scheduler);
      {
        std::lock_guard lock(mutex);
        stop = true;
      }
      stop_changed.notify_one();
      idle.join();
      return cpu_seconds;
    });
    if (seconds < 0) {
      state.SkipWithError("the measuring child failed, or the channel lost or reordered a value");
      break;
    }
    state.SetIterationTime(seconds);
  }
  set_round_trip_counter(state);
}

double parked_on_idle_sockets(std::size_t n) {
  auto listener = net::listen_tcp("127.0.0.1", 0);
  const auto port = net::local_port(listener.get());
  int hold[2];
  if (::pipe(hold) != 0) return -1;
  const pid_t clients = ::fork();
  if (clients == 0) {  // holds n idle client connections until the pipe closes
    ::close(hold[1]);
    std::vector<net::UniqueFd> conns;
    conns.reserve(n);
    for (std::size_t i = 0; i < n; ++i) conns.push_back(net::connect_tcp("127.0.0.1", port));
    char c;
    [[maybe_unused]] auto r = ::read(hold[0], &c, 1);
    ::_exit(0);
  }
  ::close(hold[0]);
  std::vector<int> accepted;
  accepted.reserve(n);
  while (accepted.size() < n) {
    const int fd = ::accept(listener.get(), nullptr, nullptr);
    if (fd >= 0) accepted.push_back(fd);
  }
  fiber::Scheduler scheduler;
  const std::size_t before = vm_rss_bytes();
  std::size_t after = 0;
  scheduler.block_on([&] {
    for (int fd : accepted)
      fiber::spawn([fd] {
        fiber::TcpStream stream{net::UniqueFd(fd)};
        fiber::SocketStream socket(stream, std::chrono::milliseconds(0));
        (void)socket.read();  // parks until the clients go away
      }).detach();
    fiber::this_fiber::yield();  // every fiber runs up to its park
    after = vm_rss_bytes();
    ::close(hold[1]);  // the clients exit: every read sees end-of-stream
  });
  ::waitpid(clients, nullptr, 0);
  return static_cast<double>(after - before) / static_cast<double>(n);
}

double parked_on_channel(std::size_t n) {
  fiber::Scheduler scheduler;
  fiber::Channel<int> channel(1);
  const std::size_t before = vm_rss_bytes();
  std::size_t after = 0;
  scheduler.block_on([&] {
    for (std::size_t i = 0; i < n; ++i) fiber::spawn([&] { (void)channel.receive(); }).detach();
    fiber::this_fiber::yield();
    after = vm_rss_bytes();
    channel.close();
  });
  return static_cast<double>(after - before) / static_cast<double>(n);
}

void BM_FiberParkedOnIdleSocket(benchmark::State& state, std::size_t n) {
  double bytes = -1;
  for (auto _ : state) bytes = in_child([n] { return parked_on_idle_sockets(n); });
  if (bytes < 0) state.SkipWithError("the measuring child failed");
  state.counters["rss_per_fiber_bytes"] = bytes;
}

void BM_FiberParkedOnChannel(benchmark::State& state, std::size_t n) {
  double bytes = -1;
  for (auto _ : state) bytes = in_child([n] { return parked_on_channel(n); });
  if (bytes < 0) state.SkipWithError("the measuring child failed");
  state.counters["rss_per_fiber_bytes"] = bytes;
}

}  // namespace

void register_benchmarks(const MicroOptions& options) {
  register_micro(benchmark_name("FiberYieldRoundTrip", "fiber"), BM_FiberYieldRoundTrip);
  register_micro(benchmark_name("FiberChannelRoundTrip", "fiber"), BM_FiberChannelRoundTrip);
  register_micro(benchmark_name("FiberChannelRoundTrip", "fiber", "process_threads:2"),
                 BM_FiberChannelRoundTripTwoThreads)
      ->UseManualTime();
  register_micro(benchmark_name("FiberSpawnJoin", "fiber"), BM_FiberSpawnJoin);
  const std::size_t sockets = options.size(19'000, 100);
  register_micro(benchmark_name("FiberParkedOnIdleSocket", "fiber", "units:" + std::to_string(sockets)),
                 BM_FiberParkedOnIdleSocket, sockets)
      ->Iterations(1);
  const std::size_t parked = options.size(100'000, 1'000);
  register_micro(benchmark_name("FiberParkedOnChannel", "fiber", "units:" + std::to_string(parked)),
                 BM_FiberParkedOnChannel, parked)
      ->Iterations(1);
}

}  // namespace tvt::micro
