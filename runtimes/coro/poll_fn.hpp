#pragma once
// poll_fn(f): a future written by hand, as Rust's std::future::poll_fn. This is the public extension point of the
// executor: the same leaf-awaiter protocol the runtime's own sockets, timers and channels use (a parked task, a
// poll function the runner calls when it is woken), with a Context and a Waker instead of the internals.
//
//   co_await poll_fn([&](Context& cx) -> Poll<int> {
//     std::lock_guard lock(shared.mutex);
//     if (shared.done) return shared.value;   // Ready(value)
//     shared.waker = cx.waker();              // Pending: promise a wake ...
//     return pending;                         // ... from whoever sets `done`
//   });
//
// `f(Context&)` returns Poll<T> (std::optional<T>: a value = Ready, `pending` = Pending), or bool for a future
// without a value (true = Ready). The rules are Rust's:
// - f is called once when the task reaches the co_await, then again each time the task is woken, until it returns
//   Ready. It must never block, and on Pending it must have arranged a wake (else the task sleeps forever).
// - A wake only means "poll again": f may be called when nothing changed, and must then say Pending again.
// - f runs on the task's thread, which may change between polls under spawn (see thread_pool.hpp).
// - An exception thrown by f comes out of the co_await. Cancellation (and timeout) are checked before each poll: a
//   cancelled task does not poll again, and the co_await throws TaskCancelled (a Waker f stored stays harmless).
// - An awaitable made by poll_fn completes once; awaiting it again throws std::logic_error (Rust: a future must not
//   be polled after Ready, unless fused).
#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"
#include "coro/waker.hpp"

namespace tvt::coro {

// Rust's Poll<T>: a value is Ready, `pending` (std::nullopt) is Pending.
template <class T>
using Poll = std::optional<T>;
inline constexpr std::nullopt_t pending = std::nullopt;

namespace detail {

template <class R>
struct PollOutput;  // what co_await yields for a poll function returning R
template <class T>
struct PollOutput<std::optional<T>> {
  using type = T;
};
template <>
struct PollOutput<bool> {
  using type = void;
};

}  // namespace detail

template <class F>
class [[nodiscard]] PollFn {
  using Returned = std::invoke_result_t<F&, Context&>;

 public:
  using value_type = typename detail::PollOutput<Returned>::type;

  explicit PollFn(F f) : f_(std::move(f)) {}
  PollFn(const PollFn&) = delete;
  PollFn& operator=(const PollFn&) = delete;

  bool await_ready() const noexcept { return false; }  // the first poll needs the task: in await_suspend

  bool await_suspend(std::coroutine_handle<> resume) {
    if (state_ != State::fresh) throw std::logic_error("coro::poll_fn: awaited after it completed");
    detail::TaskHeader& me = detail::require_current_task("poll_fn");
    if (me.interrupted()) return false;  // await_resume throws
    if (poll_once(me)) return false;
    detail::park_current(me, resume, &poll, this);
    return true;
  }

  value_type await_resume() {
    if (state_ == State::failed) {
      state_ = State::done;
      std::rethrow_exception(std::exchange(error_, nullptr));
    }
    if (state_ != State::ready) {  // resumed without Ready: interrupted
      detail::throw_if_interrupted(detail::require_current_task("poll_fn"));
      throw std::logic_error("coro::poll_fn: resumed before Ready");  // unreachable by the runner's protocol
    }
    state_ = State::done;
    if constexpr (!std::is_void_v<value_type>) return std::move(*value_);
  }

 private:
  enum class State { fresh, ready, failed, done };

  // Calls f once; true when it is Ready (or threw: the exception is Ready too, for await_resume to rethrow).
  bool poll_once(detail::TaskHeader& me) noexcept {
    Context cx(me);
    try {
      if constexpr (std::is_void_v<value_type>) {
        if (!f_(cx)) return false;
      } else {
        value_ = f_(cx);
        if (!value_) return false;
      }
      state_ = State::ready;
    } catch (...) {
      error_ = std::current_exception();
      state_ = State::failed;
    }
    return true;
  }

  // The runner's PollFn (task_header.hpp): woken, so poll again unless the task must stop.
  static bool poll(void* leaf, detail::TaskHeader& me) noexcept {
    auto* self = static_cast<PollFn*>(leaf);
    if (me.interrupted()) return true;  // resume into await_resume, which throws
    return self->poll_once(me);
  }

  F f_;
  State state_ = State::fresh;
  std::conditional_t<std::is_void_v<value_type>, bool, std::optional<value_type>> value_{};
  std::exception_ptr error_;
};

template <class F>
PollFn<F> poll_fn(F f) {
  return PollFn<F>(std::move(f));
}

}  // namespace tvt::coro
