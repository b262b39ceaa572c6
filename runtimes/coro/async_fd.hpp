#pragma once
// AsyncFd: a non-blocking fd the current task can wait on (readable/writable), registered lazily with the reactor of
// the thread where it first has to wait. TcpStream and TcpListener are built on it; so is waiting on an eventfd.
//
// Invariants: one task waits per direction at a time; the fd stays registered with the same reactor until the
// AsyncFd dies or moves (a move deregisters; the new owner registers again when it first waits). Owning or
// borrowing: an owning AsyncFd closes the fd after deregistering it.
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <system_error>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"
#include "net/unique_fd.hpp"
#include "reactor/reactor.hpp"

namespace tvt::coro {

enum class Ownership { owned, borrowed };

class AsyncFd {
 public:
  AsyncFd() = default;
  // `fd` must be non-blocking.
  AsyncFd(int fd, Ownership ownership) noexcept : fd_(fd), owned_(ownership == Ownership::owned) {}
  AsyncFd(AsyncFd&& other) noexcept;
  AsyncFd& operator=(AsyncFd&& other) noexcept;
  AsyncFd(const AsyncFd&) = delete;
  AsyncFd& operator=(const AsyncFd&) = delete;
  ~AsyncFd() { close(); }

  int fd() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  // Deregisters, and closes the fd if owned.
  void close() noexcept;

  // Awaitable: completes when the fd may be ready for `dir` (try the syscall again: readiness is a hint), right away
  // if an edge arrived since the last wait. With `limit` > 0, throws std::system_error(errc::timed_out) when nothing
  // arrived within it. A cancellation point.
  class [[nodiscard]] Wait {
   public:
    // A `limit` over 2^32-1 ms (49 days) waits that long.
    Wait(AsyncFd& fd, reactor::Direction dir, std::chrono::milliseconds limit) noexcept
        : fd_(fd),
          limit_ms_(limit.count() <= 0                ? 0u
                    : limit.count() >= max_limit_ms   ? max_limit_ms
                                                      : static_cast<std::uint32_t>(limit.count())),
          dir_(static_cast<std::uint8_t>(dir)) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> resume);
    void await_resume();

   private:
    static constexpr std::uint32_t max_limit_ms = ~0u;
    static bool poll(void* leaf, detail::TaskHeader& me) noexcept;
    void disarm_timer() noexcept;
    reactor::Direction dir() const noexcept { return static_cast<reactor::Direction>(dir_); }

    // Member order is layout: an idle connection's frame holds one Wait (issue 18: 64 bytes, was 88). The timer
    // goes on the registration's reactor (the one the fd waits on), so no reactor pointer is kept for it.
    AsyncFd& fd_;
    reactor::Waker waker_;  // wakes this task; parked in the registration (and the timer) while we wait
    reactor::TimerEntry timer_;
    std::uint32_t limit_ms_;  // 0: no limit
    std::uint8_t dir_;  // a reactor::Direction (4 bytes as the enum)
    bool parked_ = false;
    bool timed_out_ = false;
    bool timer_armed_ = false;
  };
  static_assert(sizeof(Wait) == 64 || sizeof(void*) != 8);
  Wait readable(std::chrono::milliseconds limit = std::chrono::milliseconds(0)) noexcept {
    return Wait(*this, reactor::Direction::read, limit);
  }
  Wait writable(std::chrono::milliseconds limit = std::chrono::milliseconds(0)) noexcept {
    return Wait(*this, reactor::Direction::write, limit);
  }

  reactor::Registration& registration() noexcept { return registration_; }
  // Registers with the current thread's reactor if not yet registered. Throws if there is none or epoll fails.
  void ensure_registered();

 private:
  int fd_ = -1;
  bool owned_ = false;
  reactor::Registration registration_;
};

}  // namespace tvt::coro
