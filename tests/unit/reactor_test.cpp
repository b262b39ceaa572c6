// Tests of the shared epoll reactor: readiness edges, the park protocol (including the lost-edge race), unpark,
// cross-thread notify, timers and removal with stale events.
#include "reactor/reactor.hpp"  // first: the header is self-contained

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using tvt::reactor::Clock;
using tvt::reactor::Direction;
using tvt::reactor::Reactor;
using tvt::reactor::Registration;
using tvt::reactor::TimerEntry;
using tvt::reactor::Waker;

struct CountingWaker {
  std::atomic<int> wakes{0};
  Waker waker{[](void* self) { static_cast<CountingWaker*>(self)->wakes.fetch_add(1); }, this};
};

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("sp");
  }
  ~SocketPair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int a() const { return fds[0]; }
  int b() const { return fds[1]; }
};

bool read_would_block(int fd) {
  char c;
  return ::read(fd, &c, 1) < 0 && errno == EAGAIN;
}

// A socket pair whose end `a` is registered; the first poll takes the initial EPOLLOUT edge (no waiter: it leaves
// write `ready`), so a test starts from a quiet registration.
class RegisteredPair : public ::testing::Test {
 protected:
  RegisteredPair() {
    reactor.add(sp.a(), reg);
    reactor.poll(0ms);
  }
  ~RegisteredPair() override { reactor.remove(reg); }

  Reactor reactor;
  SocketPair sp;
  Registration reg;
};

TEST_F(RegisteredPair, ParkedReaderIsWokenOnceByAnEdge) {
  CountingWaker w;
  ASSERT_TRUE(read_would_block(sp.a()));
  ASSERT_TRUE(reg.park(Direction::read, w.waker));
  EXPECT_EQ(reactor.poll(0ms), 0u);
  EXPECT_EQ(w.wakes.load(), 0);
  ASSERT_EQ(::write(sp.b(), "x", 1), 1);
  EXPECT_EQ(reactor.poll(1000ms), 1u);
  EXPECT_EQ(w.wakes.load(), 1);
  EXPECT_FALSE(reg.has_waiter(Direction::read));  // the wake consumed the slot
  reactor.poll(0ms);
  EXPECT_EQ(w.wakes.load(), 1);  // once per edge, not once per poll
}

// The lost-edge race, made deterministic: the syscall fails, *then* data arrives and the reactor sees the edge while
// nobody is parked. park() must refuse (the edge is remembered), so the caller retries and finds the data.
TEST_F(RegisteredPair, EdgeBetweenFailedReadAndParkIsNotLost) {
  ASSERT_TRUE(read_would_block(sp.a()));  // 1. the read fails
  ASSERT_EQ(::write(sp.b(), "x", 1), 1);  //    meanwhile the peer writes
  reactor.poll(0ms);                      //    and the reactor harvests the edge with nobody parked
  CountingWaker w;
  EXPECT_FALSE(reg.park(Direction::read, w.waker));  // 2. park sees `ready`: retry instead of sleeping forever
  char c;
  EXPECT_EQ(::read(sp.a(), &c, 1), 1);
  ASSERT_TRUE(read_would_block(sp.a()));
  EXPECT_TRUE(reg.park(Direction::read, w.waker));  // the edge was consumed: now it parks
  EXPECT_TRUE(reg.unpark(Direction::read, w.waker));
}

// The same race under real concurrency: a reader thread and a reactor thread, one byte at a time. A lost edge would
// leave the reader parked forever; the test bounds the wait and fails instead of hanging.
TEST(ReactorTest, NoLostWakeupsUnderConcurrency) {
  Reactor reactor;
  SocketPair sp;
  Registration reg;
  reactor.add(sp.a(), reg);
  constexpr int rounds = 20000;
  std::atomic<bool> stop{false};
  std::atomic<int> received{0};
  std::atomic<bool> woken{false};
  Waker waker{[](void* flag) {
                static_cast<std::atomic<bool>*>(flag)->store(true);
                static_cast<std::atomic<bool>*>(flag)->notify_one();
              },
              &woken};
  std::thread reactor_thread([&] {
    while (!stop.load()) reactor.poll(10ms);
  });
  std::thread reader([&] {
    char buf[64];
    while (received.load() < rounds) {
      const auto n = ::read(sp.a(), buf, sizeof buf);
      if (n > 0) {
        received.fetch_add(static_cast<int>(n));
        continue;
      }
      ASSERT_TRUE(n < 0 && errno == EAGAIN);
      woken.store(false);
      if (!reg.park(Direction::read, waker)) continue;
      const auto deadline = Clock::now() + 5s;
      while (!woken.load()) {
        if (Clock::now() > deadline) {
          ADD_FAILURE() << "lost wake-up after " << received.load() << " bytes";
          reg.unpark(Direction::read, waker);
          return;
        }
        std::this_thread::yield();
      }
    }
  });
  for (int i = 0; i < rounds; ++i) {
    while (::write(sp.b(), "x", 1) != 1) std::this_thread::yield();
    if (i % 64 == 0) std::this_thread::yield();  // vary the interleavings
  }
  reader.join();
  stop.store(true);
  reactor.notify();
  reactor_thread.join();
  EXPECT_EQ(received.load(), rounds);
  reactor.remove(reg);
}

TEST_F(RegisteredPair, UnparkIsExact) {
  CountingWaker w;
  ASSERT_TRUE(reg.park(Direction::read, w.waker));
  EXPECT_TRUE(reg.unpark(Direction::read, w.waker));  // withdrawn before any edge
  ASSERT_EQ(::write(sp.b(), "x", 1), 1);
  reactor.poll(0ms);
  EXPECT_EQ(w.wakes.load(), 0);  // a withdrawn waker is never called
  char c;
  ASSERT_EQ(::read(sp.a(), &c, 1), 1);
  ASSERT_TRUE(read_would_block(sp.a()));
  // The edge from the write above left `ready`; consume it, then park for real.
  if (!reg.park(Direction::read, w.waker)) {
    ASSERT_TRUE(reg.park(Direction::read, w.waker));
  }
  ASSERT_EQ(::write(sp.b(), "y", 1), 1);
  reactor.poll(1000ms);
  EXPECT_EQ(w.wakes.load(), 1);
  EXPECT_FALSE(reg.unpark(Direction::read, w.waker));  // already woken
}

TEST_F(RegisteredPair, WriterIsWokenWhenTheBufferDrains) {
  char chunk[4096] = {};
  while (::write(sp.a(), chunk, sizeof chunk) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  CountingWaker w;
  if (!reg.park(Direction::write, w.waker)) {  // a stale initial edge
    ASSERT_TRUE(reg.park(Direction::write, w.waker));
  }
  while (::read(sp.b(), chunk, sizeof chunk) > 0) {
  }
  reactor.poll(1000ms);
  EXPECT_EQ(w.wakes.load(), 1);
}

TEST(ReactorTest, PeerCloseWakesAParkedReader) {
  Reactor reactor;
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  Registration reg;
  reactor.add(fds[0], reg);
  CountingWaker w;
  ASSERT_TRUE(read_would_block(fds[0]));
  ASSERT_TRUE(reg.park(Direction::read, w.waker));
  ::close(fds[1]);
  reactor.poll(1000ms);
  EXPECT_EQ(w.wakes.load(), 1);
  char c;
  EXPECT_EQ(::read(fds[0], &c, 1), 0);
  reactor.remove(reg);
  ::close(fds[0]);
}

TEST(ReactorTest, NotifyWakesASleepingPollFromAnotherThread) {
  Reactor reactor;
  std::atomic<bool> returned{false};
  std::thread poller([&] {
    reactor.poll(-1ms);  // no limit: only notify() can end it
    returned.store(true);
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(returned.load());
  reactor.notify();
  poller.join();
  EXPECT_TRUE(returned.load());
  // Collapsed notifications: many notify() calls, then one poll consumes them and the next one sleeps again.
  for (int i = 0; i < 100; ++i) reactor.notify();
  reactor.poll(1000ms);
  const auto start = Clock::now();
  reactor.poll(30ms);
  EXPECT_GE(Clock::now() - start, 25ms);
}

// The owner's "check my queue, else sleep in poll" loop against notifiers that post then notify. A notify() lost
// inside the reactor (an eventfd count drained while the pending flag stays set) leaves the owner asleep with work
// posted; the bounded sleep turns that into a failure instead of a hang.
TEST(ReactorTest, NotifyIsNeverLostUnderContention) {
  Reactor reactor;
  constexpr int per_thread = 50000;
  std::atomic<int> posted{0};
  std::vector<std::thread> notifiers;
  for (int t = 0; t < 2; ++t)
    notifiers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        posted.fetch_add(1);
        reactor.notify();
        if (i % 128 == 0) std::this_thread::yield();
      }
    });
  int consumed = 0;
  bool lost = false;
  while (consumed < 2 * per_thread && !lost) {
    const int p = posted.load();
    if (p > consumed) {
      consumed = p;
      continue;
    }
    const auto start = Clock::now();
    reactor.poll(3000ms);
    lost = Clock::now() - start >= 2900ms && posted.load() > consumed;
  }
  for (auto& t : notifiers) t.join();
  EXPECT_FALSE(lost) << "slept through a notify() with " << posted.load() - consumed << " posts pending";
}

TEST(ReactorTest, TimersFireInDeadlineOrderThenFifo) {
  Reactor reactor;
  std::vector<int> order;
  struct Tagged {
    std::vector<int>* order;
    int tag;
    Waker waker{[](void* self) {
                  auto* t = static_cast<Tagged*>(self);
                  t->order->push_back(t->tag);
                },
                this};
  };
  Tagged t1{&order, 1}, t2{&order, 2}, t3{&order, 3}, t4{&order, 4};
  TimerEntry e1, e2, e3, e4;
  const auto now = Clock::now();
  reactor.add_timer(e1, now + 30ms, t1.waker);
  reactor.add_timer(e2, now + 10ms, t2.waker);
  reactor.add_timer(e3, now + 30ms, t3.waker);
  reactor.add_timer(e4, now + 20ms, t4.waker);
  EXPECT_TRUE(reactor.cancel_timer(e4));
  EXPECT_FALSE(reactor.cancel_timer(e4));
  while (reactor.timer_count() > 0) reactor.poll(1000ms);
  EXPECT_GE(Clock::now() - now, 30ms);
  EXPECT_EQ(order, (std::vector<int>{2, 1, 3}));
  EXPECT_FALSE(reactor.cancel_timer(e1));  // fired
}

// A look (zero timeout) at a reactor with no fd registered skips epoll_wait (a busy runtime without I/O polls for
// nothing): it must still fire due timers, and a notify() it did not consume must still end the next waiting poll.
TEST(ReactorTest, ALookWithoutRegistrationsFiresTimersAndKeepsNotify) {
  Reactor reactor;
  CountingWaker w;
  TimerEntry due, later;
  reactor.add_timer(due, Clock::now(), w.waker);
  reactor.add_timer(later, Clock::now() + 10s, w.waker);
  EXPECT_EQ(reactor.poll(0ms), 1u);
  EXPECT_EQ(w.wakes.load(), 1);
  EXPECT_EQ(reactor.timer_count(), 1u);
  EXPECT_TRUE(reactor.cancel_timer(later));

  reactor.notify();
  EXPECT_EQ(reactor.poll(0ms), 0u);
  reactor.notify();  // collapsed with the pending one: no second write
  const auto start = Clock::now();
  reactor.poll(3000ms);  // returns at once on the kept notify
  EXPECT_LT(Clock::now() - start, 2000ms);
  // Consumed now: the next wait runs its course.
  const auto again = Clock::now();
  reactor.poll(30ms);
  EXPECT_GE(Clock::now() - again, 25ms);

  // With a registration, a look reads epoll again: the pair's initial write edge is reported.
  SocketPair sp;
  Registration reg;
  reactor.add(sp.a(), reg);
  CountingWaker writer;
  reactor.poll(0ms);  // the initial EPOLLOUT edge, no waiter: leaves write ready
  char chunk[4096] = {};
  while (::write(sp.a(), chunk, sizeof chunk) > 0) {
  }
  if (!reg.park(Direction::write, writer.waker)) {  // a stale edge from the writes above
    ASSERT_TRUE(reg.park(Direction::write, writer.waker));
  }
  while (::read(sp.b(), chunk, sizeof chunk) > 0) {
  }
  for (int i = 0; i < 300 && writer.wakes.load() == 0; ++i) {
    reactor.poll(0ms);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(writer.wakes.load(), 1);
  reactor.remove(reg);
}

TEST(ReactorTest, AnEarlierTimerFromAnotherThreadShortensTheSleep) {
  Reactor reactor;
  CountingWaker w;
  TimerEntry far, near;
  reactor.add_timer(far, Clock::now() + 10s, w.waker);
  std::thread adder([&] {
    std::this_thread::sleep_for(20ms);  // let the owner fall asleep until `far`
    reactor.add_timer(near, Clock::now() + 5ms, w.waker);
  });
  const auto start = Clock::now();
  while (w.wakes.load() == 0 && Clock::now() - start < 5s) reactor.poll(-1ms);
  adder.join();
  EXPECT_EQ(w.wakes.load(), 1);
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_TRUE(reactor.cancel_timer(far));
}

// A registration removed (and its fd closed) after epoll_wait could have harvested its event: the event is dropped,
// never dispatched to freed memory (ASan would report it), and the waker is not called.
TEST(ReactorTest, RemovedRegistrationGetsNoStaleWake) {
  Reactor reactor;
  CountingWaker w;
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  {
    auto reg = std::make_unique<Registration>();
    reactor.add(fds[0], *reg);
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    reg.reset();  // destructor removes it, with an edge pending
  }
  EXPECT_EQ(reactor.registration_count(), 0u);
  EXPECT_EQ(reactor.poll(0ms), 0u);
  EXPECT_EQ(w.wakes.load(), 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

// Many threads park and unpark on many fds owned by one reactor while it polls: exercises the mutex and the table
// under TSan, and checks that every parked reader is eventually woken exactly by its own edge.
TEST(ReactorTest, ForeignThreadsAddRemoveWhileOwnerPolls) {
  Reactor reactor;
  std::atomic<bool> stop{false};
  std::thread owner([&] {
    while (!stop.load()) reactor.poll(5ms);
  });
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        SocketPair sp;
        Registration reg;
        reactor.add(sp.a(), reg);
        std::atomic<bool> woken{false};
        Waker waker{[](void* f) { static_cast<std::atomic<bool>*>(f)->store(true); }, &woken};
        bool parked = read_would_block(sp.a()) && reg.park(Direction::read, waker);
        if (i % 2 == 0) {
          if (parked) reg.unpark(Direction::read, waker);
        } else {
          (void)::write(sp.b(), "x", 1);
          const auto deadline = Clock::now() + 5s;
          while (parked && !woken.load() && Clock::now() < deadline) std::this_thread::yield();
          if (parked && !woken.load()) {
            failures.fetch_add(1);
            reg.unpark(Direction::read, waker);
          }
        }
        reactor.remove(reg);
      }
    });
  }
  for (auto& w : workers) w.join();
  stop.store(true);
  reactor.notify();
  owner.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(reactor.registration_count(), 0u);
}

}  // namespace

namespace {

// Bytes and the peer's FIN reported by one edge: a short read takes the bytes, the FIN stays unreported, and no
// further edge comes. A reader that parks after a short read (to save an EAGAIN) must not sleep through it.
TEST_F(RegisteredPair, ReaderDoesNotParkAfterThePeersFinArrivedWithTheLastBytes) {
  CountingWaker w;
  ASSERT_TRUE(read_would_block(sp.a()));
  ASSERT_TRUE(reg.park(Direction::read, w.waker));
  ASSERT_EQ(::write(sp.b(), "request", 7), 7);
  ASSERT_EQ(::shutdown(sp.b(), SHUT_WR), 0);
  reactor.poll(0ms);  // one harvest sees both: wakes the reader
  ASSERT_EQ(w.wakes.load(), 1);
  char buf[64];
  ASSERT_EQ(::read(sp.a(), buf, sizeof buf), 7);  // short read: the bytes, not yet the FIN
  EXPECT_FALSE(reg.park(Direction::read, w.waker)) << "parked although the FIN is known: it would never be woken";
  EXPECT_EQ(::read(sp.a(), buf, sizeof buf), 0);
}

}  // namespace
