// Unit tests of the coroutine runtime: Task, block_on, spawn_local, spawn, JoinHandle, cancellation, wakers,
// yield_now, sleep, timeout, oneshot, channel, mutex, task_local, spawn_blocking, TCP.
#include "coro/task.hpp"
#include "coro/async_fd.hpp"
#include "coro/block_on.hpp"
#include "coro/channel.hpp"
#include "coro/join_handle.hpp"
#include "coro/mutex.hpp"
#include "coro/oneshot.hpp"
#include "coro/sleep.hpp"
#include "coro/spawn.hpp"
#include "coro/spawn_blocking.hpp"
#include "coro/task_local.hpp"
#include "coro/tcp_listener.hpp"
#include "coro/tcp_stream.hpp"
#include "coro/thread_pool.hpp"
#include "coro/timeout.hpp"
#include "coro/yield_now.hpp"
#include "coro/detail/lite_mutex.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <optional>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "coro_counted.hpp"

namespace {
// Counts every allocation of the process (the spawn test below); otherwise the default behaviour.
std::atomic<long> allocations{0};

}  // namespace

void* operator new(std::size_t bytes) {
  allocations.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter read by the same thread
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
// g++ 12 cannot see that these frees pair with the malloc above (-Wmismatched-new-delete false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using namespace std::chrono_literals;
using namespace tvt::coro;
using test::Counted;

Task<int> answer() { co_return 42; }
Task<int> add_one(int x) { co_return x + 1; }
Task<void> fail() {
  throw std::runtime_error("boom");
  co_return;
}

// The channel's lock (lite_mutex.hpp) on its contended path: threads exist, so lock() is the futex mutex. Each
// thread increments a plain counter under it; a lost update (or, under TSan, a missing happens-before) fails.
TEST(CoroLiteMutex, ExcludesContendingThreads) {
  tvt::coro::detail::LiteMutex mutex;
  long counter = 0;
  constexpr int threads = 4, rounds = 50'000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard lock(mutex);
        const long seen = counter;
        if (i % 64 == 0) std::this_thread::yield();  // hold it long enough for others to sleep on it
        counter = seen + 1;
      }
    });
  for (auto& w : workers) w.join();
  EXPECT_EQ(counter, long{threads} * rounds);
}

TEST(CoroTask, BlockOnReturnsTheValueAndRethrows) {
  EXPECT_EQ(block_on(answer()), 42);
  EXPECT_THROW(block_on(fail()), std::runtime_error);
}

TEST(CoroTask, IsLazyAndFreesItsFrameWhenDropped) {
  Counted::reset();
  bool ran = false;
  {
    auto t = [](bool& flag, Counted c) -> Task<int> {
      flag = true;
      co_return c.id;
    }(ran, Counted(7));
    EXPECT_FALSE(ran);             // nothing runs until awaited
    EXPECT_EQ(Counted::live, 1);   // the argument lives in the frame
  }
  EXPECT_EQ(Counted::live, 0);     // dropping the task destroyed the frame
  EXPECT_FALSE(ran);
}

// Symmetric transfer relies on the compiler turning `resume()` into a tail call. g++ does at -O1 and above, but not
// with AddressSanitizer/ThreadSanitizer instrumentation, where the chain length is cut to what the stack holds.
#ifdef TVT_SANITIZED_BUILD
constexpr int chain_length = 1'000;
#else
constexpr int chain_length = 1'000'000;
#endif

TEST(CoroTask, AMillionSequentialAwaitsDoNotGrowTheStack) {
  auto loop = []() -> Task<long> {
    long sum = 0;
    for (int i = 0; i < chain_length; ++i) sum += co_await add_one(0);  // each completes synchronously
    co_return sum;
  };
  EXPECT_EQ(block_on(loop()), chain_length);
}

Task<long> nested(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await nested(depth - 1);
}

TEST(CoroTask, AMillionNestedAwaitsDoNotOverflow) {
  // Each level is a heap frame; resuming and finishing use symmetric transfer, so the thread stack stays flat.
  EXPECT_EQ(block_on(nested(chain_length)), chain_length);
}

// Local only, like ASpawnIsOneAllocation: spawn_local's own contract (it needs block_on; one allocation per spawn).
TEST(CoroSpawnLocal, OutsideBlockOnIsAClearError) {
  try {
    auto h = spawn_local(answer());
    FAIL() << "spawn_local outside block_on must throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("outside block_on"), std::string::npos);
  }
}

// Local only: the interleaving order is the one-thread executor's promise; a pool gives none.
TEST(CoroSpawnLocal, InterleavesOnOneThreadAndJoinsInOrder) {
  std::vector<int> order;
  auto worker = [](std::vector<int>& log, int id) -> Task<int> {
    log.push_back(id);
    co_await yield_now();
    log.push_back(id + 10);
    co_return id;
  };
  auto main_task = [&]() -> Task<int> {
    auto a = spawn_local(worker(order, 1));
    auto b = spawn_local(worker(order, 2));
    const int ra = co_await a;
    const int rb = co_await b;
    co_return ra * 10 + rb;
  };
  EXPECT_EQ(block_on(main_task()), 12);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 11, 12}));  // both ran before either continued: one thread, interleaved
}




// Cancelled while running (not parked): the next fd wait or sleep must throw, not return at once. Returning would
// turn a server's "wait for readable, try_read, EAGAIN" loop into a spin that never ends (a stop that never ends).
// A spawned task is one allocation: its header lives in front of the coroutine frame, in the frame's own block.
TEST(CoroSpawnLocal, ASpawnIsOneAllocation) {
  auto main_task = []() -> Task<long> {
    auto child = [](int v) -> Task<int> { co_return v; };
    const long before = allocations.load();
    auto h = spawn_local(child(7));
    const long spawned = allocations.load() - before;
    EXPECT_EQ(co_await h, 7);
    co_return spawned;
  };
  // The one allocation is the frame's, from the frame pool (not operator new) except under sanitizers.
  EXPECT_EQ(block_on(main_task()), tvt::coro::detail::frame_pool::bypassed ? 1 : 0);
}

// Local only: the task cancels itself through a handle the spawner stores after spawn_local returns, which on one
// thread happens before the task first runs (on a pool the task could read the handle before it is stored).
TEST(CoroCancel, ACancelWhileRunningStopsTheNextFdWaitAndSleep) {
  auto main_task = []() -> Task<int> {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) co_return -1;
    AsyncFd read_end(fds[0], Ownership::owned);
    AsyncFd write_end(fds[1], Ownership::owned);
    int stopped = 0;
    for (int kind = 0; kind < 2; ++kind) {
      JoinHandle<int>* self = nullptr;
      auto waiter = [](JoinHandle<int>** own_handle, AsyncFd* fd, int what) -> Task<int> {
        (*own_handle)->cancel();  // from inside: the task is RUNNING
        for (int i = 0; i < 1000; ++i) {  // bounded, so the old behaviour fails instead of spinning forever
          if (what == 0) co_await fd->readable();
          else co_await sleep(1h);
        }
        co_return 1000;
      };
      auto h = spawn_local(waiter(&self, &read_end, kind));
      self = &h;
      try {
        co_await h;
      } catch (const TaskCancelled&) {
        ++stopped;
      }
    }
    co_return stopped;
  };
  EXPECT_EQ(block_on(main_task()), 2);
}

// One flavour each, the next two: block_on cancels what is left of its local tasks, ~ThreadPool what is left of its.
TEST(CoroCancel, BlockOnCancelsLeftoverLocalTasks) {
  Counted::reset();
  auto main_task = []() -> Task<void> {
    for (int i = 0; i < 10; ++i) {
      spawn_local([](Counted) -> Task<void> { co_await sleep(1h); }(Counted(i))).detach();
    }
    co_await yield_now();
  };
  block_on(main_task());
  EXPECT_EQ(Counted::live, 0);
}

TEST(CoroPool, ShutdownCancelsParkedTasks) {
  Counted::reset();
  {
    ThreadPool pool(2);
    for (int i = 0; i < 100; ++i)
      pool.spawn([](Counted) -> Task<void> { co_await sleep(1h); }(Counted(i))).detach();
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(Counted::live, 0);
}





TEST(CoroOneshot, CrossThreadSendAndDroppedSender) {
  ThreadPool pool(2);
  auto main_task = [&]() -> Task<bool> {
    auto [tx, rx] = oneshot<std::string>();
    pool.spawn([](OneshotSender<std::string> s) -> Task<void> {
      co_await sleep(5ms);
      s.send("hello");
    }(std::move(tx))).detach();
    auto v = co_await rx.recv();
    auto [tx2, rx2] = oneshot<int>();
    { auto gone = std::move(tx2); }
    auto none = co_await rx2.recv();
    co_return v == std::optional<std::string>("hello") && !none.has_value();
  };
  EXPECT_TRUE(block_on(main_task()));
}



TEST(CoroChannel, SendToADroppedReceiverReturnsFalse) {
  auto main_task = []() -> Task<bool> {
    auto [tx, rx] = channel<int>(1);
    { auto gone = std::move(rx); }
    co_return !(co_await tx.send(1));
  };
  EXPECT_TRUE(block_on(main_task()));
}





TEST(CoroBlockOn, InsideATaskIsAnError) {
  auto main_task = []() -> Task<bool> {
    try {
      block_on(answer());
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(block_on(main_task()));
}

TEST(CoroWaker, APoolTaskWakesALocalTaskOnceAndTheLocalThreadSleepsMeanwhile) {
  ThreadPool pool(1);
  auto main_task = [&]() -> Task<int> {
    auto [tx, rx] = channel<int>(16);
    pool.spawn([](Sender<int> out) -> Task<void> {
      for (int i = 0; i < 100; ++i) {
        co_await sleep(100us);
        co_await out.send(i);
      }
    }(std::move(tx))).detach();
    int count = 0;
    while (co_await rx.recv()) ++count;
    co_return count;
  };
  EXPECT_EQ(block_on(main_task()), 100);
}

// The stream tests run on one thread: the sockets are the subject, not the executor (the coro back end serves real
// connections on the pool in the integration suites).
TEST(CoroTcp, EchoRoundTripAndErrors) {
  auto main_task = []() -> Task<bool> {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    const auto port = listener.local_port();
    auto server = spawn_local([](TcpListener& l) -> Task<void> {
      auto s = co_await l.accept();
      std::string all;
      co_await s.read_to_string(all);
      co_await s.write_all(all);
      s.shutdown(Shutdown::write);
    }(listener));
    auto client = co_await TcpStream::connect("127.0.0.1", port);
    std::string big(300'000, 'x');  // larger than the socket buffers: write_all must wait for writability
    auto writer = spawn_local([](TcpStream& c, const std::string& data) -> Task<void> {
      co_await c.write_all(data);
      c.shutdown(Shutdown::write);
    }(client, big));
    std::string back;
    co_await client.read_to_string(back);
    co_await writer;
    co_await server;
    bool refused = false;
    try {
      auto l2 = TcpListener::bind("127.0.0.1", 0);
      const auto dead_port = l2.local_port();
      { auto close_it = std::move(l2); }
      co_await TcpStream::connect("127.0.0.1", dead_port);
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::connection_refused;
    }
    co_return back == big && refused;
  };
  EXPECT_TRUE(block_on(main_task()));
}

TEST(CoroTcp, ReadExactThrowsOnEarlyEof) {
  auto main_task = []() -> Task<bool> {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    auto server = spawn_local([](TcpListener& l) -> Task<void> {
      auto s = co_await l.accept();
      co_await s.write_all("abc");
    }(listener));
    auto client = co_await TcpStream::connect("127.0.0.1", listener.local_port());
    char buf[10];
    bool threw = false;
    try {
      co_await client.read_exact(buf);
    } catch (const std::system_error&) {
      threw = true;
    }
    co_await server;
    co_return threw;
  };
  EXPECT_TRUE(block_on(main_task()));
}

TEST(CoroTcp, IdleLimitOnReadable) {
  auto main_task = []() -> Task<bool> {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    auto client = co_await TcpStream::connect("127.0.0.1", listener.local_port());
    auto server_side = co_await listener.accept();
    char buf[16];
    if (server_side.try_read(buf)) co_return false;  // nothing sent yet
    try {
      co_await server_side.readable(20ms);
    } catch (const std::system_error& e) {
      co_return e.code() == std::errc::timed_out;
    }
    co_return false;
  };
  EXPECT_TRUE(block_on(main_task()));
}

// The executor tests run on both flavours, as the fiber tests run with 1 and 2 workers: `local` = spawn_local inside
// block_on (one thread: the coro-local back end), `pool` = spawn onto a two-worker ThreadPool (the coro back end).
// The root task always runs in block_on. Tests that apply to one flavour only stay plain TESTs above and say why.
enum class Flavour { local, pool };

class CoroExecutor : public ::testing::TestWithParam<Flavour> {
 protected:
  CoroExecutor() {
    if (GetParam() == Flavour::pool) pool_.emplace(2);
  }

  template <class T>
  JoinHandle<T> start(Task<T> task) {
    return pool_ ? pool_->spawn(std::move(task)) : spawn_local(std::move(task));
  }
  // Runs `task` on this flavour's executor, joined from a block_on root; returns its result.
  template <class T>
  T run(Task<T> task) {
    return block_on([](CoroExecutor& self, Task<T> t) -> Task<T> { co_return co_await self.start(std::move(t)); }(
        *this, std::move(task)));
  }

 private:
  std::optional<ThreadPool> pool_;
};

TEST_P(CoroExecutor, TasksRunWhereTheFlavourSays) {
  auto id = []() -> Task<std::thread::id> { co_return std::this_thread::get_id(); };
  const bool on_caller = run(id()) == std::this_thread::get_id();
  EXPECT_EQ(on_caller, GetParam() == Flavour::local);
}

TEST_P(CoroExecutor, SpawnedTasksReturnAndRethrow) {
  auto main_task = [&]() -> Task<int> {
    auto h = start(add_one(41));
    auto bad = start(fail());
    EXPECT_THROW(co_await bad, std::runtime_error);
    co_return co_await h;
  };
  EXPECT_EQ(block_on(main_task()), 42);
}

TEST_P(CoroExecutor, DroppedHandleDetachesAndTheTaskKeepsRunning) {
  auto [tx, rx] = oneshot<int>();
  auto main_task = [&](OneshotSender<int> sender, OneshotReceiver<int> receiver) -> Task<int> {
    {
      auto dropped = start([](OneshotSender<int> s) -> Task<void> {
        co_await sleep(10ms);
        s.send(5);
      }(std::move(sender)));
    }  // handle dropped here
    auto v = co_await receiver.recv();
    co_return v.value_or(-1);
  };
  EXPECT_EQ(block_on(main_task(std::move(tx), std::move(rx))), 5);
}

TEST_P(CoroExecutor, CancelStopsAParkedTaskAndUnwindsItsFrame) {
  Counted::reset();
  auto main_task = [&]() -> Task<bool> {
    auto h = start([](Counted) -> Task<int> {
      co_await sleep(1h);
      co_return 1;
    }(Counted(1)));
    co_await yield_now();  // let it park (on a pool it may not have yet: cancel works either way)
    EXPECT_EQ(Counted::live, 1);
    h.cancel();
    try {
      co_await h;
    } catch (const TaskCancelled&) {
      co_return Counted::live == 0;  // the frame (and its argument) are gone once the join sees the cancellation
    }
    co_return false;
  };
  EXPECT_TRUE(block_on(main_task()));
}

// A yielding task keeps RUNNING while it waits in its runner's queue (task_header.hpp): a cancel meanwhile must still
// reach it at its next yield, on either flavour. (Were it lost, the loop would end by itself and return 0.)
TEST_P(CoroExecutor, ACancelReachesATaskThatOnlyYields) {
  auto main_task = [&]() -> Task<bool> {
    std::atomic<int> turns{0};
    auto yielder = start([](std::atomic<int>& n) -> Task<int> {
      for (int i = 0; i < 20'000'000; ++i) {
        n.fetch_add(1, std::memory_order_relaxed);
        co_await yield_now();
      }
      co_return 0;
    }(turns));
    while (turns.load(std::memory_order_relaxed) < 1000) co_await yield_now();  // local: the two take turns
    yielder.cancel();
    try {
      co_await yielder;
    } catch (const TaskCancelled&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(block_on(main_task()));
}

TEST_P(CoroExecutor, SleepsAtLeastTheDuration) {
  auto sleeper = []() -> Task<std::chrono::steady_clock::duration> {
    const auto start = std::chrono::steady_clock::now();
    co_await sleep(20ms);
    co_return std::chrono::steady_clock::now() - start;
  };
  EXPECT_GE(run(sleeper()), 20ms);
}

TEST_P(CoroExecutor, ManySleepersOverlap) {
  // 100 tasks sleeping 30 ms each finish together, not one after another: a sleeper blocks no thread.
  auto main_task = [&]() -> Task<std::chrono::steady_clock::duration> {
    const auto start_time = std::chrono::steady_clock::now();
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 100; ++i) hs.push_back(start([]() -> Task<void> { co_await sleep(30ms); }()));
    for (auto& h : hs) co_await h;
    co_return std::chrono::steady_clock::now() - start_time;
  };
  EXPECT_LT(block_on(main_task()), 100 * 30ms);
}

TEST_P(CoroExecutor, TimeoutExpiresStopsTheInnerTaskAndThrowsTimedOut) {
  Counted::reset();
  auto slow = [](Counted) -> Task<int> {
    co_await sleep(1h);
    co_return 1;
  };
  auto timed = [&]() -> Task<bool> {
    try {
      co_await timeout(10ms, slow(Counted(1)));
    } catch (const std::system_error& e) {
      co_return e.code() == std::errc::timed_out && Counted::live == 0;
    }
    co_return false;
  };
  EXPECT_TRUE(run(timed()));
}

TEST_P(CoroExecutor, TimeoutReturnsTheValueInTimeAndNestsOutermostFirst) {
  auto fast = []() -> Task<int> {
    co_await sleep(1ms);
    co_return 3;
  };
  EXPECT_EQ(run(timeout(1s, fast())), 3);
  // inner 1 h, outer 10 ms: the outer one fires; the inner one must let its interrupt through.
  auto inner = []() -> Task<void> { co_await timeout(1h, []() -> Task<void> { co_await sleep(1h); }()); };
  auto timed = [&]() -> Task<bool> {
    try {
      co_await timeout(10ms, inner());
    } catch (const std::system_error& e) {
      co_return e.code() == std::errc::timed_out;
    }
    co_return false;
  };
  EXPECT_TRUE(run(timed()));
}

// A task that only yields sees its timeout expire at a yield: its state's EXTRAS bit (task_header.hpp) sends the
// yield's check to the timeout walk. (Were it missed, the loop would end by itself and return 0.)
TEST_P(CoroExecutor, ATimeoutStopsATaskThatOnlyYields) {
  auto spin = []() -> Task<int> {
    for (int i = 0; i < 200'000'000; ++i) co_await yield_now();
    co_return 0;
  };
  auto timed = [&]() -> Task<bool> {
    try {
      co_await timeout(10ms, spin());
    } catch (const std::system_error& e) {
      co_return e.code() == std::errc::timed_out;
    }
    co_return false;
  };
  EXPECT_TRUE(run(timed()));
}

// A sender parked on a full channel stops when its timeout expires or it is cancelled: its poll withdraws it without
// settling the send, and the send throws; the channel keeps only what was delivered.
TEST_P(CoroExecutor, ABlockedSenderStopsOnTimeoutAndCancel) {
  auto send_one = [](Sender<int> tx, int v) -> Task<bool> { co_return co_await tx.send(v); };
  auto main_task = [&]() -> Task<bool> {
    auto [tx, rx] = channel<int>(1);
    co_await tx.send(1);  // full from now on
    bool timed_out = false;
    try {
      co_await timeout(10ms, send_one(tx, 2));
    } catch (const std::system_error& e) {
      timed_out = e.code() == std::errc::timed_out;
    }
    auto blocked = start(send_one(tx, 3));
    co_await yield_now();  // let it park (on a pool it may not have yet: cancel works either way)
    blocked.cancel();
    bool cancelled = false;
    try {
      co_await blocked;
    } catch (const TaskCancelled&) {
      cancelled = true;
    }
    const std::optional<int> first = co_await rx.recv();
    co_return timed_out && cancelled && first == 1 && !rx.try_recv().has_value();
  };
  EXPECT_TRUE(block_on(main_task()));
}

TEST_P(CoroExecutor, ChannelPingPong) {
  auto main_task = [&]() -> Task<int> {
    auto [to_b, from_a] = channel<int>(1);
    auto [to_a, from_b] = channel<int>(1);
    auto b = start([](Receiver<int> in, Sender<int> out) -> Task<void> {
      while (auto v = co_await in.recv()) co_await out.send(*v + 1);
    }(std::move(from_a), std::move(to_a)));
    int v = 0;
    for (int i = 0; i < 1000; ++i) {
      co_await to_b.send(v);
      v = *co_await from_b.recv();
    }
    { auto closing = std::move(to_b); }  // b's recv returns nullopt: it ends
    co_await b;
    co_return v;
  };
  EXPECT_EQ(block_on(main_task()), 1000);
}

TEST_P(CoroExecutor, ChannelBoundedBackpressureManyProducers) {
  constexpr int producers = 8, each = 2000;
  auto main_task = [&]() -> Task<long> {
    auto [tx, rx] = channel<int>(4);
    std::vector<JoinHandle<void>> hs;
    for (int p = 0; p < producers; ++p)
      hs.push_back(start([](Sender<int> out) -> Task<void> {
        for (int i = 1; i <= each; ++i) EXPECT_TRUE(co_await out.send(i));
      }(tx)));
    { auto last = std::move(tx); }
    long sum = 0;
    while (auto v = co_await rx.recv()) sum += *v;
    for (auto& h : hs) co_await h;
    co_return sum;
  };
  EXPECT_EQ(block_on(main_task()), long{producers} * each * (each + 1) / 2);
}

TEST_P(CoroExecutor, MutexLosesNoUpdates) {
  Mutex mutex;
  long counter = 0;  // guarded by `mutex`
  auto main_task = [&]() -> Task<long> {
    std::vector<JoinHandle<void>> hs;
    for (int t = 0; t < 16; ++t)
      hs.push_back(start([](Mutex& m, long& c) -> Task<void> {
        for (int i = 0; i < 500; ++i) {
          auto guard = co_await m.lock();
          const long seen = c;
          if (i % 7 == 0) co_await yield_now();  // hold it across a suspension
          c = seen + 1;
        }
      }(mutex, counter)));
    for (auto& h : hs) co_await h;
    auto guard = co_await mutex.lock();
    co_return counter;
  };
  EXPECT_EQ(block_on(main_task()), 16 * 500);
}

TaskLocal<int> request_id;

TEST_P(CoroExecutor, TaskLocalIsPerTask) {
  auto main_task = [&]() -> Task<bool> {
    request_id.set(1);
    auto other = start([]() -> Task<int> {
      const int before = request_id.get();  // fresh: T{}
      request_id.set(2);
      co_await yield_now();
      co_return before * 10 + request_id.get();
    }());
    co_await yield_now();
    const int r = co_await other;
    co_return r == 2 && request_id.get() == 1;
  };
  EXPECT_TRUE(block_on(main_task()));
  EXPECT_THROW(request_id.get(), std::logic_error);  // outside a task
}

// Timeout scopes and task_local values share one block made on first use (detail/task_extras.hpp): a timeout that
// fires must not disturb the task's locals, and both go when the task ends.
TaskLocal<Counted> local_counted;

TEST_P(CoroExecutor, TaskLocalsSurviveTimeoutsAndDieWithTheTask) {
  Counted::reset();
  auto task = []() -> Task<bool> {
    local_counted.set(Counted(7));
    bool timed_out = false;
    try {
      co_await timeout(5ms, []() -> Task<void> { co_await sleep(1h); }());
    } catch (const std::system_error& e) {
      timed_out = e.code() == std::errc::timed_out;
    }
    const int in_time = co_await timeout(1h, []() -> Task<int> { co_return local_counted.get().id; }());
    co_return timed_out && in_time == 7 && local_counted.get().id == 7 && Counted::live == 1;
  };
  EXPECT_TRUE(run(task()));
  EXPECT_EQ(Counted::live, 0);  // the task's value went with it
}

TEST_P(CoroExecutor, SpawnBlockingReturnsAndRethrows) {
  auto offloading = []() -> Task<bool> {
    const auto caller = std::this_thread::get_id();
    auto id = co_await spawn_blocking([] { return std::this_thread::get_id(); });
    bool threw = false;
    try {
      co_await spawn_blocking([]() -> int { throw std::runtime_error("x"); });
    } catch (const std::runtime_error&) {
      threw = true;
    }
    co_return id != caller && threw;
  };
  EXPECT_TRUE(run(offloading()));
}

INSTANTIATE_TEST_SUITE_P(Flavours, CoroExecutor, ::testing::Values(Flavour::local, Flavour::pool),
                         [](const auto& param_info) { return param_info.param == Flavour::local ? "local" : "pool"; });

}  // namespace
