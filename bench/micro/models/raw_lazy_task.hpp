#pragma once
// The floor for awaiting a task that completes at once (`co_await f()` where f's body returns without suspending):
// a plain lazy coroutine with symmetric transfer in and out, its value in the promise, its frame from the global
// operator new -- the same create, transfer, take and destroy as coro's Task<T>, with nothing a runtime adds
// (no cancellation point, no room for a spawn header, no exception slot beyond std::terminate). Not a runtime.
// Used by bench_micro_coro (BM_AwaitReadyTask/model:raw-coroutine) and hotpath (case `await`).
#include <coroutine>
#include <exception>
#include <utility>

namespace tvt::micro {

template <class T>
class RawLazyTask {
 public:
  struct promise_type {
    T value{};
    std::coroutine_handle<> continuation;

    RawLazyTask get_return_object() noexcept {
      return RawLazyTask{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct BackToAwaiter {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) noexcept {
          return self.promise().continuation;
        }
        void await_resume() noexcept {}
      };
      return BackToAwaiter{};
    }
    void return_value(T v) noexcept { value = std::move(v); }
    void unhandled_exception() noexcept { std::terminate(); }
  };

  RawLazyTask(RawLazyTask&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  RawLazyTask& operator=(RawLazyTask&&) = delete;
  ~RawLazyTask() {
    if (frame_) frame_.destroy();
  }

  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> frame;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        frame.promise().continuation = awaiting;
        return frame;
      }
      T await_resume() noexcept { return std::move(frame.promise().value); }
    };
    return Awaiter{frame_};
  }

 private:
  explicit RawLazyTask(std::coroutine_handle<promise_type> frame) noexcept : frame_(frame) {}
  std::coroutine_handle<promise_type> frame_;
};

// An eagerly started root for a RawLazyTask loop: runs until its first real suspension (there is none in a loop of
// ready awaits) and is destroyed by its owner.
struct RawEagerRoot {
  struct promise_type {
    RawEagerRoot get_return_object() noexcept {
      return RawEagerRoot{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  RawEagerRoot(RawEagerRoot&& other) noexcept : frame(std::exchange(other.frame, {})) {}
  RawEagerRoot& operator=(RawEagerRoot&&) = delete;
  ~RawEagerRoot() {
    if (frame) frame.destroy();
  }
  bool done() const noexcept { return frame.done(); }

  std::coroutine_handle<promise_type> frame;

 private:
  explicit RawEagerRoot(std::coroutine_handle<promise_type> f) noexcept : frame(f) {}
};

}  // namespace tvt::micro
