#pragma once
// Telling a stack overflow from any other crash, and saying which fiber it was.
//
// A fiber that runs past its stack touches its guard page and takes SIGSEGV. The stack is exhausted, so the handler
// runs on an alternate signal stack (one per worker thread). It looks the fault address up in the registry of slabs;
// if the address is a guard page it writes "fiber N overflowed its stack ..." to stderr (async-signal-safe: write(2)
// only) and lets the signal kill the process as usual. Any other SIGSEGV goes to the handler that was installed
// before ours (a sanitizer's, say), or to the default action.
//
// Invariants: the registry is append-only slots of atomics, written under the pool's lock and read lock-free by
// the handler; a slab is unregistered before it is unmapped.
#include <cstddef>
#include <cstdint>

namespace tvt::fiber::overflow {

void register_slab(const char* base, std::size_t bytes, std::size_t stride_bytes, std::size_t guard_bytes);
void unregister_slab(const char* base);

// Installs the process-wide SIGSEGV handler (idempotent, thread-safe).
void install_handler();

// An alternate signal stack for the calling thread while in scope (worker threads hold one).
class AltStack {
 public:
  AltStack();
  ~AltStack();
  AltStack(const AltStack&) = delete;
  AltStack& operator=(const AltStack&) = delete;

 private:
  void* memory_ = nullptr;
  std::size_t bytes_ = 0;
  bool installed_ = false;
};

// Canary mode found a smashed canary: reports the fiber and aborts (memory may already be corrupted).
[[noreturn]] void canary_smashed(std::uint64_t fiber_id, const void* stack_limit);

}  // namespace tvt::fiber::overflow
