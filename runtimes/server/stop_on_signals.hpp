#pragma once
// SIGINT/SIGTERM -> stop.request(), in the signal handler itself, then the graceful-stop budget as a timer signal: a
// back end that has not returned from serve() in time is a bug, reported by exit code 3.
//
// Why no thread (it used to be a sigwait thread): a thread makes every server a multi-threaded process, and glibc's
// `__libc_single_threaded` never turns back. The single-threaded back ends (asio, fiber, coro-local, uring) then paid
// for a thread they do not have: glibc's malloc and the coro and fiber runtimes skip locked instructions only while
// the process has one thread (runtimes/coro/detail/one_thread.hpp). Now a server has the threads its model makes.
//
// Async-signal safety: StopSignal::request() is an exchange on a lock-free atomic and a write(2); the budget's
// handler writes a preformatted message and calls _Exit. Handlers run on whichever thread takes the signal; SA_RESTART
// restarts the blocking calls that can be restarted, and every loop that sleeps treats EINTR as a wake-up.
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "backend/stop_signal.hpp"

namespace tvt::server {

class StopOnSignals {
 public:
  StopOnSignals(backend::StopSignal& stop, std::chrono::milliseconds budget) {
    const int length = std::snprintf(message_, sizeof message_,
                                     "server: graceful stop took longer than %lld ms; exiting\n",
                                     static_cast<long long>(budget.count()));
    message_length_ = length > 0 ? static_cast<std::size_t>(length) : 0;
    budget_ = budget;
    // release: the message and budget above are complete before a handler can see `stop`.
    stop_.store(&stop, std::memory_order_release);
    install(SIGALRM, on_budget_spent);
    install(SIGINT, on_stop);
    install(SIGTERM, on_stop);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
  // serve() returned: no budget runs any more, and a late signal stops the process the default way.
  ~StopOnSignals() {
    const itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    stop_.store(nullptr, std::memory_order_release);
  }

 private:
  static void install(int signal_number, void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(signal_number, &action, nullptr);
  }

  static void on_stop(int) {
    backend::StopSignal* stop = stop_.load(std::memory_order_acquire);
    if (stop == nullptr || stop->requested()) return;  // a second signal does not restart the budget
    stop->request();
    itimerval budget{};
    budget.it_value.tv_sec = static_cast<time_t>(budget_.count() / 1000);
    budget.it_value.tv_usec = static_cast<suseconds_t>((budget_.count() % 1000) * 1000);
    setitimer(ITIMER_REAL, &budget, nullptr);
  }

  static void on_budget_spent(int) {
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, message_, message_length_);
    _exit(3);
  }

  static_assert(std::atomic<backend::StopSignal*>::is_always_lock_free);
  static inline std::atomic<backend::StopSignal*> stop_{nullptr};
  static inline char message_[128];
  static inline std::size_t message_length_ = 0;
  static inline std::chrono::milliseconds budget_{0};
};

}  // namespace tvt::server
