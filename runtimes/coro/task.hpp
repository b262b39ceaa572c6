#pragma once
// Task<T>: a lazy, move-only coroutine. Nothing runs until it is awaited (inside another task) or spawned.
// `co_await task` starts it with symmetric transfer and, when it finishes, transfers straight back to the awaiter:
// no stack grows with the length of an await chain, so a million sequential or nested awaits cannot overflow.
//
// Ownership: the Task object owns the coroutine frame until it is awaited (the frame is destroyed with the Task
// after the await) or spawned (then the spawned task owns it and destroys it when the coroutine finishes).
// Memory: a frame is allocated with room for a spawned task's header in front of it (see FrameAllocation below),
// from the frame pool (detail/frame_pool.hpp).
// Lifetimes: a Task may run after the caller's stack frame is gone (spawn), so parameters taken by reference may
// dangle. Take parameters by value in coroutines you spawn (see README, "owning tasks").
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <new>
#include <exception>
#include <type_traits>
#include <utility>

#include "coro/detail/frame_pool.hpp"
#include "coro/detail/join_slot.hpp"
#include "coro/detail/result.hpp"
#include "coro/detail/task_extras.hpp"
#include "coro/detail/task_header.hpp"

namespace tvt::coro {

template <class T = void>
class Task;

namespace detail {

// Every Task frame allocation is laid out as
//     [ Result<T> | join slot | TaskHeader | marker (8 bytes) ][ coroutine frame ... ]
//       `------------- SpawnedTask<T> -------'
// (Task<void>: no slot in front of the join slot; its result is a word of the header, see result_in_header.)
// offsets counted back from the frame's address, so the header sits at the same distance from every frame and its
// destroy function is the marker right after it (task_header.hpp). The marker, written by operator new, is
// `not_spawned` for an awaited coroutine and the SpawnedTask's DestroyFn once spawned.
// - The result slot is every frame's: the promise writes its result there (constructed by operator new, destroyed
//   by operator delete, or by the SpawnedTask once spawned), so an awaited coroutine's awaiter and a spawned task's
//   joiner read it in the same place and the frame holds no result of its own.
// - The header and join slot are built only if the task is spawned (spawned_task.hpp), so a spawn costs no
//   allocation of its own. An awaited coroutine keeps the one word it needs there instead, the coroutine to resume
//   when it finishes (its continuation, just before the marker), so its frame holds none either. The price: the
//   larger allocation of every awaited call.
// When a spawned coroutine finishes, frame_done destroys the frame at once (parameters and all, as async-std drops
// a finished future); operator delete then leaves the block alone, and the SpawnedTask's last release frees it.
// Assumption (checked at spawn): a frame's address is the pointer its operator new returned, as in GCC and Clang.
// The marker of a frame that is not (yet) spawned; anything else is a spawned task's TaskHeader::DestroyFn.
inline constexpr std::uintptr_t not_spawned = 0x5eed;

inline std::uintptr_t& spawned_marker(void* frame_address) noexcept {
  return *reinterpret_cast<std::uintptr_t*>(static_cast<char*>(frame_address) - sizeof(std::uintptr_t));
}

// The join slot a spawned task's joiner parks in; the first base of SpawnedTask, so that it sits before the header.
struct JoinPart {
  JoinSlot join_;
};

// What every spawned task has in front of its frame, whatever T: the SpawnedTask<T> without its typed views.
class SpawnedTaskBase : public JoinPart, public TaskHeader {};

inline constexpr std::size_t frame_align = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
inline constexpr std::size_t spawned_offset = sizeof(SpawnedTaskBase) + sizeof(std::uintptr_t);
static_assert(spawned_offset % alignof(SpawnedTaskBase) == 0);

// Result<void> (one exception_ptr) lives in the header's resume-point word, which a spawned task no longer needs
// once its coroutine has returned: the promise writes the result only then (return_void, unhandled_exception), and
// nothing reads the resume point of a task that returned (task_header.hpp). An awaited frame has no header there.
// Every other Result<T> has a slot of its own in front of the header. The word's place is checked in adopt().
template <class T>
constexpr bool result_in_header() noexcept {
  return std::is_void_v<T>;
}
inline constexpr std::size_t resume_point_offset = spawned_offset - sizeof(JoinPart) - TaskHeader::resume_point_at;
static_assert(sizeof(Result<void>) == sizeof(std::coroutine_handle<>) && alignof(Result<void>) <= alignof(TaskHeader));

template <class T>
constexpr std::size_t result_offset() noexcept {
  static_assert(alignof(Result<T>) <= frame_align);
  if constexpr (result_in_header<T>()) return resume_point_offset;
  return (spawned_offset + sizeof(Result<T>) + alignof(Result<T>) - 1) / alignof(Result<T>) * alignof(Result<T>);
}
// The block starts at the result slot (the join slot when the result is in the header): no padding in front of
// it. When that makes the prefix 8 bytes past a multiple of 16, the frame pool places the block 8 bytes past a
// 16-byte boundary, so the frame keeps its alignment.
template <class T>
constexpr std::size_t frame_prefix_bytes() noexcept {
  constexpr std::size_t prefix = result_in_header<T>() ? spawned_offset : result_offset<T>();
  static_assert(prefix % 8 == 0 && frame_align == 16);
  return prefix;
}
template <class T>
constexpr bool frame_block_odd() noexcept {
  return frame_prefix_bytes<T>() % frame_align != 0;
}

// The result slot of a frame of Task<T> (constructed by operator new).
template <class T>
Result<T>& frame_result(void* frame_address) noexcept {
  return *std::launder(reinterpret_cast<Result<T>*>(static_cast<char*>(frame_address) - result_offset<T>()));
}
// An awaited frame's continuation: the word before the marker (a spawned frame's header has it; it is never awaited).
inline void*& continuation_of(void* frame_address) noexcept {
  return *reinterpret_cast<void**>(static_cast<char*>(frame_address) - 2 * sizeof(std::uintptr_t));
}

// A spawned task's coroutine finished: destroys its frame and completes it (task_header.cpp). Touches nothing of
// the frame afterwards.
void frame_done(SpawnedTaskBase& task) noexcept;

class TaskPromiseBase {
 public:
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> frame) noexcept {
      if (spawned_marker(frame.address()) != not_spawned) {
        // destroys `frame`: touch nothing of it afterwards
        frame_done(*std::launder(
            reinterpret_cast<SpawnedTaskBase*>(static_cast<char*>(frame.address()) - spawned_offset)));
        return std::noop_coroutine();
      }
      return std::coroutine_handle<>::from_address(continuation_of(frame.address()));  // back to the awaiter
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
};

// The allocation functions of every Task<T> frame (see the layout above).
template <class T>
struct FrameAllocation {
  static void* operator new(std::size_t frame_bytes) {
    char* block = static_cast<char*>(frame_pool::allocate(frame_prefix_bytes<T>() + frame_bytes, frame_block_odd<T>()));
    void* frame = block + frame_prefix_bytes<T>();
    spawned_marker(frame) = not_spawned;
    ::new (static_cast<char*>(frame) - result_offset<T>()) Result<T>();
    return frame;
  }
  // Always inline: with the result's destructor in it, GCC (asan builds, -O2) called it out of line from a ramp that
  // had inlined operator new, and warned -Wmismatched-new-delete; inline, it sees the global pair (the frame pool's
  // allocate and release: ::operator new and delete under sanitizers).
  [[gnu::always_inline]] static void operator delete(void* frame) noexcept {
    if (spawned_marker(frame) != not_spawned) return;  // a spawned task's block: its last release frees it
    frame_result<T>(frame).~Result<T>();
    frame_pool::release(static_cast<char*>(frame) - frame_prefix_bytes<T>(), frame_block_odd<T>());
  }
};

template <class T>
class TaskPromise final : public TaskPromiseBase, public FrameAllocation<T> {
 public:
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& value) {
    result().set_value(std::forward<U>(value));
  }
  void unhandled_exception() noexcept { result().set_exception(std::current_exception()); }
  Result<T>& result() noexcept {
    return frame_result<T>(std::coroutine_handle<TaskPromise>::from_promise(*this).address());
  }
};

template <>
class TaskPromise<void> final : public TaskPromiseBase, public FrameAllocation<void> {
 public:
  Task<void> get_return_object() noexcept;
  // The result word was the resume point until now in a spawned task (see result_in_header): made afresh.
  void return_void() noexcept { ::new (static_cast<void*>(&result())) Result<void>(); }
  void unhandled_exception() noexcept {
    ::new (static_cast<void*>(&result())) Result<void>();
    result().set_exception(std::current_exception());
  }
  Result<void>& result() noexcept {
    return frame_result<void>(std::coroutine_handle<TaskPromise>::from_promise(*this).address());
  }
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
        detail::continuation_of(frame.address()) = awaiting.address();
        return frame;  // symmetric transfer: start the child without growing the stack
      }
      T await_resume() { return detail::frame_result<T>(frame.address()).take(); }
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

// A spawned task: the header the schedulers see and its join slot, built in front of the coroutine frame inside the
// frame's own allocation, after its result slot (see FrameAllocation). The frame is destroyed when the coroutine
// finishes; the rest when the last reference (task, JoinHandle, in-flight joiner) goes (see task_header.hpp).
// Only typed views: every byte is SpawnedTaskBase's.
template <class T>
class SpawnedTask final : public SpawnedTaskBase {
 public:
  // Makes `task`'s frame a task of `executor` (not yet scheduled). References: the task's own and the JoinHandle's.
  static SpawnedTask* adopt(Task<T> task, Executor& executor) {
    const auto frame = task.release();
    if (spawned_marker(frame.address()) != not_spawned) {  // the layout assumption above does not hold
      std::fputs("coro: coroutine frame address is not its allocation; cannot spawn\n", stderr);
      std::terminate();
    }
    auto* self = ::new (static_cast<char*>(frame.address()) - spawned_offset) SpawnedTask();
    // The header ends where the marker begins (TaskHeader::destroy_fn reads it there).
    if (reinterpret_cast<char*>(static_cast<TaskHeader*>(self)) + sizeof(TaskHeader) !=
        static_cast<char*>(frame.address()) - sizeof(std::uintptr_t))
      std::terminate();  // folded away: base layout is fixed at compile time
    // Result<void>'s word is the resume point (see result_in_header); the null result there ends with the header.
    if (reinterpret_cast<char*>(&self->resume_point_) != static_cast<char*>(frame.address()) - resume_point_offset)
      std::terminate();  // folded away, as above
    self->executor_ = &executor;
    self->resume_point_ = frame;
    TaskHeader::DestroyFn destroy = &destroy_self;
    spawned_marker(frame.address()) = reinterpret_cast<std::uintptr_t>(destroy);
    return self;
  }

  Result<T>& result() noexcept { return frame_result<T>(frame_of(this)); }

 private:
  SpawnedTask() noexcept = default;
  ~SpawnedTask() = default;

  static void* frame_of(SpawnedTask* self) noexcept { return reinterpret_cast<char*>(self) + spawned_offset; }

  // The common end, a finished task whose result holds nothing to free (a void task that did not throw), is the
  // pool's push: everything else is out of line, so that this saves no register (references, not pointers: no
  // null test for the base conversions).
  static void destroy_self(TaskHeader* header) noexcept {
    auto& self = static_cast<SpawnedTask&>(static_cast<SpawnedTaskBase&>(*header));
    if constexpr (result_in_header<T>()) {
      if (!self.is_complete() || frame_result<T>(frame_of(&self)).holds_exception()) [[unlikely]]
        return destroy_parts(self);
    } else {
      if (!self.is_complete()) [[unlikely]]
        return destroy_parts(self);
      frame_result<T>(frame_of(&self)).~Result<T>();
    }
    // Finished: frame_done destroyed the frame and the extras block. The whole block, frame included.
    frame_pool::release(static_cast<char*>(frame_of(&self)) - frame_prefix_bytes<T>(), frame_block_odd<T>());
  }
  [[gnu::noinline]] static void destroy_parts(SpawnedTask& self) noexcept {
    void* frame = frame_of(&self);
    const bool complete = self.is_complete();
    // Never finished (a runtime torn down with the task parked): the frame is still there.
    if (!complete) std::coroutine_handle<>::from_address(frame).destroy();
    destroy_extras(self);
    // In the header, the result exists only once the coroutine returned (else the word is the resume point).
    if (!result_in_header<T>() || complete) frame_result<T>(frame).~Result<T>();
    self.~SpawnedTask();
    frame_pool::release(static_cast<char*>(frame) - frame_prefix_bytes<T>(), frame_block_odd<T>());
  }
};
}  // namespace detail

}  // namespace tvt::coro
