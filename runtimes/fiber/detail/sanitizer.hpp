#pragma once
// Stack-switch annotations for AddressSanitizer and ThreadSanitizer. The build passes TVT_FIBER_ASAN or
// TVT_FIBER_TSAN (from the TVT_SANITIZER cache variable); in plain builds every function here is empty.
//
// Protocol (ASan): start_switch() right before a jump, naming the destination stack; finish_switch() first thing
// after landing. A context that will never run again passes dying=true so ASan frees its fake stack.
// Protocol (TSan): every fiber has a TSan fiber handle, created with the fiber and destroyed after its last switch;
// switch_to_fiber() right before the jump. Switching synchronises the two fibers (data handed over is not a race).
// A dying fiber is the exception: after it picks its successor it still returns through instrumented frames
// (Boost.Context's fiber_entry/record) and runs fiber_exit, so announcing the switch before those would unbalance
// the successor's shadow call stack. Under TSan a dying fiber therefore always switches to its worker's own
// context, which announces the switch when it lands and only then destroys the dead fiber's TSan handle.
#include <cstddef>

#include "fiber/detail/context.hpp"

#if defined(TVT_FIBER_ASAN)
extern "C" void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, std::size_t size);
extern "C" void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old,
                                                std::size_t* size_old);
#endif
#if defined(TVT_FIBER_TSAN)
extern "C" void* __tsan_get_current_fiber();
extern "C" void* __tsan_create_fiber(unsigned flags);
extern "C" void __tsan_destroy_fiber(void* fiber);
extern "C" void __tsan_switch_to_fiber(void* fiber, unsigned flags);
#endif

namespace tvt::fiber::detail::sanitizer {

[[gnu::always_inline]] inline void start_switch([[maybe_unused]] Context& from, [[maybe_unused]] const Context& to,
                         [[maybe_unused]] bool dying = false) {
#if defined(TVT_FIBER_ASAN)
  __sanitizer_start_switch_fiber(dying ? nullptr : &from.asan_fake_stack, to.stack_bottom, to.stack_size_bytes);
#endif
#if defined(TVT_FIBER_TSAN)
  if (!dying) __tsan_switch_to_fiber(to.tsan_fiber, 0);  // a dying fiber's successor announces it (see above)
#endif
}

inline constexpr bool dying_fiber_returns_to_worker =
#if defined(TVT_FIBER_TSAN)
    true;
#else
    false;
#endif

// The worker's own context landed after a dying fiber: announce the switch, then free the dead fiber's handle.
[[gnu::always_inline]] inline void landed_after_dying_fiber([[maybe_unused]] Context& self, [[maybe_unused]] void*& dead_handle) {
#if defined(TVT_FIBER_TSAN)
  __tsan_switch_to_fiber(self.tsan_fiber, 0);
  if (dead_handle != nullptr) __tsan_destroy_fiber(dead_handle);
  dead_handle = nullptr;
#endif
}

[[gnu::always_inline]] inline void finish_switch([[maybe_unused]] Context& self) {
#if defined(TVT_FIBER_ASAN)
  __sanitizer_finish_switch_fiber(self.asan_fake_stack, nullptr, nullptr);
#endif
}

// A worker thread's own context: its stack as the thread sees it, and its TSan identity.
void init_thread_context(Context& main_context);

inline void create_fiber([[maybe_unused]] Context& fiber) {
#if defined(TVT_FIBER_TSAN)
  fiber.tsan_fiber = __tsan_create_fiber(0);
#endif
}

// A finishing fiber hands its TSan handle to the worker context it lands on, which destroys it after announcing the
// switch (landed_after_dying_fiber). Taken before the fiber publishes its end: once a joiner on another thread can
// see `finished`, it may drop the last reference and reach destroy_fiber() while this thread is still running the
// fiber as far as TSan knows, and __tsan_destroy_fiber first switches *to* the fiber it destroys: TSan's
// "CHECK failed: tsan_rtl_proc.cpp:47" (the fiber is still wired to this thread's processor).
inline void* take_dying_fiber_handle([[maybe_unused]] Context& fiber) {
#if defined(TVT_FIBER_TSAN)
  void* handle = fiber.tsan_fiber;
  fiber.tsan_fiber = nullptr;
  return handle;
#else
  return nullptr;
#endif
}

// Returns the handle to destroy later if `fiber` is still TSan's current fiber (it is dying right now).
inline void* destroy_fiber([[maybe_unused]] Context& fiber) {
#if defined(TVT_FIBER_TSAN)
  void* handle = fiber.tsan_fiber;
  fiber.tsan_fiber = nullptr;
  if (handle == nullptr) return nullptr;
  if (handle == __tsan_get_current_fiber()) return handle;
  __tsan_destroy_fiber(handle);
#endif
  return nullptr;
}

}  // namespace tvt::fiber::detail::sanitizer
