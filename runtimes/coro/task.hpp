#pragma once
// Task<T>: a lazy, move-only coroutine. Nothing runs until it is awaited (inside another task) or spawned.
// `co_await task` starts it with symmetric transfer and, when it finishes, transfers straight back to the awaiter:
// no stack grows with the length of an await chain, so a million sequential or nested awaits cannot overflow.
//
// Ownership: the Task object owns the coroutine frame until it is awaited (the frame is destroyed with the Task
// after the await) or spawned (then the spawned task owns it and destroys it when the coroutine finishes).
// Memory: a frame is allocated with room for a spawned task's header in front of it (see FrameAllocation below).
// Lifetimes: a Task may run after the caller's stack frame is gone (spawn), so parameters taken by reference may
// dangle. Take parameters by value in coroutines you spawn (see README, "owning tasks").
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <new>
#include <exception>
#include <utility>

#include "coro/detail/join_slot.hpp"
#include "coro/detail/result.hpp"
#include "coro/detail/task_header.hpp"

namespace tvt::coro {

template <class T = void>
class Task;

namespace detail {

// Every Task frame allocation is laid out as
//     [ SpawnedTask<T> storage | padding | spawned marker (8 bytes) ][ coroutine frame ... ]
// The front part is constructed only if the task is spawned (spawned_task.hpp): then the task header, its join slot
// and its result share the frame's allocation, and a spawn costs no allocation of its own. An awaited coroutine
// leaves it unused (the price: a larger allocation per nested call). The marker, written by operator new, is null
// for an awaited coroutine and the SpawnedTask's completion function for a spawned one.
//
// When a spawned coroutine finishes, its completion function moves the result into the SpawnedTask and destroys the
// frame at once (parameters and all, as async-std drops a finished future); operator delete then leaves the block
// alone, and the SpawnedTask's last release frees it. Assumption (checked at spawn): a frame's address is the
// pointer its operator new returned, as in GCC and Clang.
using FrameDoneFn = void (*)(void* frame_address) noexcept;
// The marker of a frame that is not (yet) spawned; anything else is a spawned task's FrameDoneFn.
inline constexpr std::uintptr_t not_spawned = 0x5eed;

inline std::uintptr_t& spawned_marker(void* frame_address) noexcept {
  return *reinterpret_cast<std::uintptr_t*>(static_cast<char*>(frame_address) - sizeof(std::uintptr_t));
}

template <class T>
class SpawnedTask;

template <class T>
constexpr std::size_t frame_prefix_bytes() noexcept {
  constexpr std::size_t align = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  static_assert(alignof(SpawnedTask<T>) <= align);
  return (sizeof(SpawnedTask<T>) + sizeof(std::uintptr_t) + align - 1) / align * align;
}

class TaskPromiseBase {
 public:
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> frame) noexcept {
      if (const std::uintptr_t marker = spawned_marker(frame.address()); marker != not_spawned) {
        reinterpret_cast<FrameDoneFn>(marker)(frame.address());  // destroys `frame`: touch nothing of it afterwards
        return std::noop_coroutine();
      }
      return frame.promise().continuation_;  // symmetric transfer back to the awaiter
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  std::coroutine_handle<> continuation_{};
};

// The allocation functions of every Task<T> frame (see the layout above).
template <class T>
struct FrameAllocation {
  static void* operator new(std::size_t frame_bytes) {
    char* block = static_cast<char*>(::operator new(frame_prefix_bytes<T>() + frame_bytes));
    void* frame = block + frame_prefix_bytes<T>();
    spawned_marker(frame) = not_spawned;
    return frame;
  }
  static void operator delete(void* frame) noexcept {
    if (spawned_marker(frame) != not_spawned) return;  // a spawned task's block: its last release frees it
    ::operator delete(static_cast<char*>(frame) - frame_prefix_bytes<T>());
  }
};

template <class T>
class TaskPromise final : public TaskPromiseBase, public FrameAllocation<T> {
 public:
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& value) {
    result_.set_value(std::forward<U>(value));
  }
  void unhandled_exception() noexcept { result_.set_exception(std::current_exception()); }
  Result<T> result_;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase, public FrameAllocation<void> {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept { result_.set_value(); }
  void unhandled_exception() noexcept { result_.set_exception(std::current_exception()); }
  Result<void> result_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(std::coroutine_handle<promise_type> frame) noexcept : frame_(frame) {}
  Task(Task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (frame_) frame_.destroy();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (frame_) frame_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(frame_); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> frame;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        frame.promise().continuation_ = awaiting;
        return frame;  // symmetric transfer: start the child without growing the stack
      }
      T await_resume() { return frame.promise().result_.take(); }
    };
    return Awaiter{frame_};
  }

  // For the spawners: gives up the frame.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(frame_, {}); }

 private:
  std::coroutine_handle<promise_type> frame_{};
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

// Destroys the task_local values of a finishing task (task_header.cpp); most tasks have none.
void destroy_task_locals_slow(TaskHeader& task) noexcept;
inline void destroy_task_locals(TaskHeader& task) noexcept {
  if (task.locals_ != nullptr) destroy_task_locals_slow(task);
}

// A spawned task: the header the schedulers see, its join slot and its result, built in front of the coroutine
// frame inside the frame's own allocation (see FrameAllocation). The frame is destroyed when the coroutine
// finishes; the rest when the last reference (task, JoinHandle, in-flight joiner) goes (see task_header.hpp).
template <class T>
class SpawnedTask final : public TaskHeader {
 public:
  // Makes `task`'s frame a task of `executor` (not yet scheduled). References: the task's own and the JoinHandle's.
  static SpawnedTask* adopt(Task<T> task, Executor& executor) {
    const auto frame = task.release();
    if (spawned_marker(frame.address()) != not_spawned) {  // the layout assumption above does not hold
      std::fputs("coro: coroutine frame address is not its allocation; cannot spawn\n", stderr);
      std::terminate();
    }
    auto* self = ::new (static_cast<char*>(frame.address()) - frame_prefix_bytes<T>()) SpawnedTask(executor);
    self->resume_point_ = frame;
    spawned_marker(frame.address()) = reinterpret_cast<std::uintptr_t>(&frame_done);
    return self;
  }

  JoinSlot join_;
  Result<T> result_;

 private:
  explicit SpawnedTask(Executor& executor) noexcept : TaskHeader(&destroy_self) { executor_ = &executor; }
  ~SpawnedTask() = default;

  static void* frame_of(SpawnedTask* self) noexcept { return reinterpret_cast<char*>(self) + frame_prefix_bytes<T>(); }

  // Runs in the frame's final_suspend.
  static void frame_done(void* frame_address) noexcept {
    auto* self = std::launder(
        reinterpret_cast<SpawnedTask*>(static_cast<char*>(frame_address) - frame_prefix_bytes<T>()));
    auto frame = std::coroutine_handle<TaskPromise<T>>::from_address(frame_address);
    self->result_ = std::move(frame.promise().result_);
    frame.destroy();  // parameters and promise; operator delete keeps the block (the marker says spawned)
    destroy_task_locals(*self);
    Rmw::fetch_or(self->state(), complete, std::memory_order_acq_rel);  // acq_rel: the runner reads it after resume()
    self->join_.complete();
  }

  static void destroy_self(TaskHeader* header) noexcept {
    auto* self = static_cast<SpawnedTask*>(header);
    // Never finished (a runtime torn down with the task parked): the frame is still there.
    if (!self->is_complete()) std::coroutine_handle<TaskPromise<T>>::from_address(frame_of(self)).destroy();
    destroy_task_locals(*self);
    self->~SpawnedTask();
    ::operator delete(static_cast<void*>(self));  // the whole block, frame included
  }
};
}  // namespace detail

}  // namespace tvt::coro
