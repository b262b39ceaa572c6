// The seed's examples (SEED.md) as tests of the coroutine runtime: cheapo_request, many_requests with spawn_local
// and with spawn (concurrent: about the slowest request, not the sum), a long computation starving local tasks
// versus spawn_blocking, task_local versus thread_local across worker migration, and the owning-async-block pattern.
#include <atomic>
#include <chrono>
#include <charconv>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "coro/async_move.hpp"
#include "coro/block_on.hpp"
#include "coro/channel.hpp"
#include "coro/sleep.hpp"
#include "coro/spawn.hpp"
#include "coro/spawn_blocking.hpp"
#include "coro/task_local.hpp"
#include "coro/tcp_listener.hpp"
#include "coro/tcp_stream.hpp"
#include "coro/thread_pool.hpp"
#include "coro/yield_now.hpp"

namespace {

using namespace std::chrono_literals;
using namespace tvt::coro;
using Clock = std::chrono::steady_clock;

// ---- a local HTTP server that answers GET /delay/<ms> after <ms> milliseconds (requests served concurrently) ----

Task<void> serve_delayed(TcpStream s) {
  std::string request;
  char buf[1024];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const auto n = co_await s.read(buf);
    if (n == 0) co_return;
    request.append(buf, n);
  }
  int delay_ms = 0;
  if (const auto at = request.find("/delay/"); at != std::string::npos)
    std::from_chars(request.data() + at + 7, request.data() + request.size(), delay_ms);
  co_await sleep(std::chrono::milliseconds(delay_ms));
  const std::string body = "slept " + std::to_string(delay_ms);
  co_await s.write_all("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body);
  s.shutdown(Shutdown::write);
}

class DelayServer {
 public:
  DelayServer() : listener_(TcpListener::bind("127.0.0.1", 0)), port_(listener_.local_port()) {
    thread_ = std::thread([this] {
      block_on([](TcpListener& l, std::atomic<bool>& stop) -> Task<void> {
        while (!stop.load()) spawn_local(serve_delayed(co_await l.accept())).detach();
      }(listener_, stop_));
    });
  }
  ~DelayServer() {
    stop_.store(true);
    net_poke();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  void net_poke() {  // one connection wakes the accept loop so it sees `stop_`
    block_on([](std::uint16_t p) -> Task<void> { auto s = co_await TcpStream::connect("127.0.0.1", p); }(port_));
  }
  TcpListener listener_;
  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- the seed's functions ----

// Parameters by value: the task may outlive the caller (spawn), so it owns what it uses.
Task<std::string> cheapo_request(std::string host, std::uint16_t port, std::string path) {
  auto socket = co_await TcpStream::connect(host, port);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
  co_await socket.write_all(request);
  socket.shutdown(Shutdown::write);
  std::string response;
  co_await socket.read_to_string(response);
  co_return response;
}

struct Request {
  std::string host;
  std::uint16_t port;
  std::string path;
};

template <class Spawn>
Task<std::vector<std::string>> many_requests(std::vector<Request> requests, Spawn spawn_one) {
  std::vector<JoinHandle<std::string>> handles;
  for (auto& r : requests) handles.push_back(spawn_one(cheapo_request(r.host, r.port, r.path)));
  std::vector<std::string> results;
  for (auto& h : handles) results.push_back(co_await h);  // in request order
  co_return results;
}

TEST(CoroSeed, CheapoRequest) {
  DelayServer server;
  const auto response = block_on(cheapo_request("127.0.0.1", server.port(), "/delay/0"));
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("slept 0"), std::string::npos);
}

std::vector<Request> slow_requests(std::uint16_t port) {
  // Five requests of 300 ms each: one after another they would take 1.5 s.
  std::vector<Request> rs;
  for (int i = 0; i < 5; ++i) rs.push_back({"127.0.0.1", port, "/delay/" + std::to_string(300 + i)});
  return rs;
}

void expect_concurrent_and_ordered(const std::vector<std::string>& results, Clock::duration took) {
  ASSERT_EQ(results.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_NE(results[i].find("slept " + std::to_string(300 + i)), std::string::npos);
  EXPECT_GE(took, 300ms);
  // About the slowest request, not the sum (1.5 s): a generous bound that only serial execution breaks.
  EXPECT_LT(took, 1200ms);
}

TEST(CoroSeed, ManyRequestsWithSpawnLocal) {
  DelayServer server;
  const auto start = Clock::now();
  const auto results = block_on(
      many_requests(slow_requests(server.port()), [](Task<std::string> t) { return spawn_local(std::move(t)); }));
  expect_concurrent_and_ordered(results, Clock::now() - start);
}

TEST(CoroSeed, ManyRequestsWithSpawn) {
  DelayServer server;
  const auto start = Clock::now();
  const auto results =
      block_on(many_requests(slow_requests(server.port()), [](Task<std::string> t) { return spawn(std::move(t)); }));
  expect_concurrent_and_ordered(results, Clock::now() - start);
}

// ---- a long computation starves the thread's other tasks; spawn_blocking does not ----

void compute_for(std::chrono::milliseconds d) {  // busy: no await, like a real computation
  const auto end = Clock::now() + d;
  volatile unsigned long x = 0;
  while (Clock::now() < end) x = x + 1;
}

// Runs a ticker (every 5 ms) next to a 200 ms computation; returns the longest gap between ticks.
template <class Compute>
Task<Clock::duration> longest_tick_gap(Compute compute) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto ticker = spawn_local([](std::shared_ptr<std::atomic<bool>> stop) -> Task<Clock::duration> {
    Clock::duration longest{};
    auto last = Clock::now();
    while (!stop->load()) {
      co_await sleep(5ms);
      const auto now = Clock::now();
      longest = std::max(longest, now - last);
      last = now;
    }
    co_return longest;
  }(done));
  co_await sleep(20ms);
  co_await compute();
  done->store(true);
  co_return co_await ticker;
}

TEST(CoroSeed, LongComputationStarvesLocalTasksButNotWithSpawnBlocking) {
  const auto inline_gap = block_on(longest_tick_gap([]() -> Task<void> {
    compute_for(200ms);  // on the block_on thread: the ticker cannot run meanwhile
    co_return;
  }));
  const auto offloaded_gap = block_on(longest_tick_gap([]() -> Task<void> {
    co_await spawn_blocking([] { compute_for(200ms); });  // on the blocking pool: the ticker keeps ticking
  }));
  EXPECT_GE(inline_gap, 190ms);  // a fact, not a timing guess: the computation cannot be preempted
  EXPECT_LT(offloaded_gap, inline_gap);
  std::printf("longest ticker gap: inline %lld ms, spawn_blocking %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(inline_gap).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(offloaded_gap).count()));
}

// ---- task_local follows the task across workers; thread_local does not ----

thread_local int thread_value = 0;
TaskLocal<int> task_value;

TEST(CoroSeed, TaskLocalSurvivesMigrationThreadLocalDoesNot) {
  ThreadPool pool(2);
  struct Seen {
    bool migrated = false;
    int task_value_after = 0;
    int thread_value_after = 0;
  };
  auto main_task = [&]() -> Task<Seen> {
    auto [tx, rx] = channel<int>(1);
    auto probe = pool.spawn([](Receiver<int> pings) -> Task<Seen> {
      task_value.set(42);
      thread_value = 42;
      const auto first = std::this_thread::get_id();
      while (co_await pings.recv()) {
        // Each wake comes from a thread outside the pool, so it lands on the workers round-robin.
        if (std::this_thread::get_id() != first) co_return Seen{true, task_value.get(), thread_value};
      }
      co_return Seen{};
    }(std::move(rx)));
    for (int i = 0; i < 1000 && !probe.is_finished(); ++i) {
      co_await tx.send(i);
      co_await sleep(1ms);  // let the probe park again before the next wake
    }
    { auto close = std::move(tx); }
    co_return co_await probe;
  };
  const Seen seen = block_on(main_task());
  ASSERT_TRUE(seen.migrated) << "the probe never resumed on the other worker";
  EXPECT_EQ(seen.task_value_after, 42);    // task-local: same value on the new worker
  EXPECT_NE(seen.thread_value_after, 42);  // thread-local: the new worker's own (unset) value
}

// ---- the owning async block ----

TEST(CoroSeed, OwningAsyncBlockCanBeSpawnedAfterItsSourcesDie) {
  DelayServer server;
  auto main_task = [](std::uint16_t port) -> Task<std::string> {
    JoinHandle<std::string> handle;
    {
      std::string host = "127.0.0.1";  // these locals die before the task runs
      std::string path = "/delay/10";
      // async_move keeps the lambda (and the strings it owns) in the task's frame: the C++ `async move` block.
      handle = spawn(async_move([host = std::move(host), path = std::move(path), port]() -> Task<std::string> {
        co_return co_await cheapo_request(host, port, path);
      }));
    }
    co_await sleep(1ms);
    co_return co_await handle;
  };
  EXPECT_NE(block_on(main_task(server.port())).find("slept 10"), std::string::npos);
}

}  // namespace
