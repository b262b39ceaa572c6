#pragma once
// AsyncFd: a non-blocking fd the current task can wait on (readable/writable), registered lazily with the reactor of
// the thread where it first has to wait. TcpStream and TcpListener are built on it; so is waiting on an eventfd.
//
// Invariants: one task waits per direction at a time; the fd stays registered with the same reactor until the
// AsyncFd dies or moves (a move deregisters; the new owner registers again when it first waits). Owning or
// borrowing: an owning AsyncFd closes the fd after deregistering it.
#include <chrono>
#include <coroutine>
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
    Wait(AsyncFd& fd, reactor::Direction dir, std::chrono::milliseconds limit) noexcept
        : fd_(fd), dir_(dir), limit_(limit) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> resume);
    void await_resume();

   private:
    static bool poll(void* leaf, detail::TaskHeader& me) noexcept;
    void disarm_timer() noexcept;

    AsyncFd& fd_;
    reactor::Direction dir_;
    std::chrono::milliseconds limit_;
    bool parked_ = false;
    bool timed_out_ = false;
    reactor::Reactor* timer_reactor_ = nullptr;
    reactor::Waker waker_;  // wakes this task; parked in the registration (and the timer) while we wait
    reactor::TimerEntry timer_;
  };
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
