#pragma once
// The idle and request-read timeout for an Asio connection, as Asio's own examples do it: a watchdog coroutine that
// runs beside the connection's read loop (`co_await (loop || watchdog)`), so that whichever finishes first cancels the
// other. The loop moves the deadline; the watchdog sleeps until it has really passed.
//
// Rule (the same as the blocking loop's): a connection may sit idle between requests for `timeout`, and a request
// (a line, an HTTP header section) must arrive whole within `timeout` of its first byte.
#include <asio/awaitable.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

namespace tvt::asio_backend {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(std::chrono::milliseconds timeout) : timeout_(timeout), at_(Clock::now() + timeout) {}

  // After a read was consumed: `was_partial`/`is_partial` = a request was half-received before/after it.
  void after_read(bool was_partial, bool is_partial) {
    if (!is_partial || !was_partial) at_ = Clock::now() + timeout_;
  }

  // Completes once the deadline has passed (never early: it re-arms while the loop keeps moving it).
  asio::awaitable<void> expired() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (auto now = Clock::now(); at_ > now; now = Clock::now()) {
      timer.expires_at(at_);
      std::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;  // cancelled: the loop finished first
    }
  }

 private:
  std::chrono::milliseconds timeout_;
  Clock::time_point at_;
};

}  // namespace tvt::asio_backend
