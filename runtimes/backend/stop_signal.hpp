#pragma once
// A one-shot "stop now" that every back end can wait on: an atomic flag for loops that check, and an eventfd for
// loops that sleep in poll/epoll (it becomes readable, and stays readable, once stop is requested).
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace tvt::backend {

class StopSignal {
 public:
  StopSignal() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;
  ~StopSignal() { ::close(fd_); }

  // Async-signal-safe and thread-safe; idempotent.
  void request() {
    if (!requested_.exchange(true)) {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
    }
  }
  bool requested() const { return requested_.load(); }
  // Readable once stop is requested; never read from it (it stays readable for every waiter).
  int fd() const { return fd_; }

 private:
  int fd_;
  std::atomic<bool> requested_{false};
};

}  // namespace tvt::backend
