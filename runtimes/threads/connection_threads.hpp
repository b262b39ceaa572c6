#pragma once
// The threads back end's book of connection threads: which connections are live (so that stop can wake each one),
// how many threads run (so that stop can wait for all of them), and the optional cache of parked threads that a
// finished connection's thread joins to be reused for a later connection (thread creation off the accept path).
//
// Invariants (all state under `mutex_`):
// - `threads_` counts threads that were started and have not yet called thread_exited(); the acceptor counts a
//   thread before creating it (thread_starting) and uncounts it if creation fails.
// - A connection is in `live_` from add() to remove(). Its thread removes it *before* closing the fd, so stop can
//   shutdown() every fd in the list without racing a close (and never touches a reused fd number).
// - After stop_and_wait() begins (`stopping_`), add() refuses (the thread closes its fd without serving it) and no
//   thread parks, so nothing can appear that stop would not wake.
// - A parked thread waits on its own Parked node, which lives on that thread's stack and is in `parked_` until a
//   hand_off() or stop unlinks it; only then does the thread leave park().
// - Shutdown order: stopping_ -> shutdown(SHUT_RDWR) every live fd (each blocked recv returns 0) and wake every parked
//   thread -> threads return -> `threads_` reaches 0 -> stop_and_wait() returns (bounded by a budget).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace tvt::threads {

class ConnectionThreads {
 public:
  // One live connection, an intrusive list node on its thread's stack (no allocation per connection).
  struct Live {
    int fd;
    Live* prev = nullptr;
    Live* next = nullptr;
  };

  // Keeps at most `cache_capacity` finished threads parked for reuse (0 = every thread exits with its connection).
  explicit ConnectionThreads(std::size_t cache_capacity) : cache_capacity_(cache_capacity) {}
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  // Acceptor side. hand_off: gives `fd` to a parked thread, false if none is parked (then start a thread).
  bool hand_off(int fd);
  void thread_starting();
  void thread_not_started();

  // Connection-thread side. add: false once stopping (the caller closes the fd unserved).
  bool add(Live& connection);
  void remove(Live& connection);
  // Parks this thread in the cache and returns the next connection's fd, or -1: exit (cache full, or stopping).
  int park();
  void thread_exited();

  // Wakes every connection and parked thread, then waits (at most `budget`) until every thread has exited.
  void stop_and_wait(std::chrono::milliseconds budget);

 private:
  struct Parked {
    std::condition_variable wakeup;
    int fd = -1;  // set by hand_off
    Parked* next = nullptr;
  };

  std::mutex mutex_;
  std::condition_variable all_exited_;
  std::size_t threads_ = 0;
  Live* live_ = nullptr;  // head of the list of live connections
  Parked* parked_ = nullptr;
  std::size_t parked_count_ = 0;
  std::size_t cache_capacity_;
  bool stopping_ = false;
};

}  // namespace tvt::threads
