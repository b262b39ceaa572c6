#include "fiber/overflow_report.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace tvt::fiber::detail {
// worker.cpp: the id of the fiber running on this thread (0 if none); async-signal-safe (reads a thread_local).
std::uint64_t running_fiber_id_for_signal_handler();
}  // namespace tvt::fiber::detail

namespace tvt::fiber::overflow {
namespace {

struct SlabRecord {
  // Relaxed/acquire pairs: `base` is published last with release, so a handler that sees a base sees its sizes.
  std::atomic<const char*> base{nullptr};
  std::atomic<std::size_t> bytes{0};
  std::atomic<std::size_t> stride{0};
  std::atomic<std::size_t> guard{0};
};

constexpr std::size_t max_slabs = 1 << 16;  // 64 stacks each: 4 million stacks
SlabRecord registry[max_slabs];
std::atomic<std::size_t> registry_used{0};  // high-water mark of slots ever used
std::mutex registry_mutex;                  // serialises writers; the handler never takes it

struct sigaction previous_action;
std::once_flag install_once;

// Async-signal-safe formatting.
void write_str(const char* s) { [[maybe_unused]] auto n = ::write(STDERR_FILENO, s, std::strlen(s)); }
void write_num(std::uint64_t v, int base) {
  char buf[24];
  int i = sizeof buf;
  do {
    buf[--i] = "0123456789abcdef"[v % static_cast<unsigned>(base)];
    v /= static_cast<unsigned>(base);
  } while (v != 0 && i > 0);
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, buf + i, sizeof buf - static_cast<std::size_t>(i));
}

void chain_to_previous(int sig, siginfo_t* info, void* uctx) {
  if ((previous_action.sa_flags & SA_SIGINFO) != 0 && previous_action.sa_sigaction != nullptr) {
    previous_action.sa_sigaction(sig, info, uctx);
    return;
  }
  if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN &&
      previous_action.sa_handler != nullptr) {
    previous_action.sa_handler(sig);
    return;
  }
  // Default action: reinstall it and return; the faulting instruction runs again and the kernel kills us.
  ::signal(sig, SIG_DFL);
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  const auto* addr = static_cast<const char*>(info->si_addr);
  const std::size_t used = registry_used.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < used; ++i) {
    const char* base = registry[i].base.load(std::memory_order_acquire);
    if (base == nullptr || addr < base) continue;
    const auto offset = static_cast<std::size_t>(addr - base);
    if (offset >= registry[i].bytes.load(std::memory_order_relaxed)) continue;
    const std::size_t stride = registry[i].stride.load(std::memory_order_relaxed);
    if (offset % stride >= registry[i].guard.load(std::memory_order_relaxed)) continue;  // not a guard page
    const char* stack_low = base + offset / stride * stride + registry[i].guard.load(std::memory_order_relaxed);
    write_str("tvt fiber: stack overflow in fiber ");
    write_num(detail::running_fiber_id_for_signal_handler(), 10);
    write_str(" (guard page hit at 0x");
    write_num(reinterpret_cast<std::uintptr_t>(addr), 16);
    write_str(", stack 0x");
    write_num(reinterpret_cast<std::uintptr_t>(stack_low), 16);
    write_str("-0x");
    write_num(reinterpret_cast<std::uintptr_t>(stack_low + stride - registry[i].guard.load(std::memory_order_relaxed)),
              16);
    write_str("); raise --stack-size or make the fiber's frames smaller\n");
    ::signal(sig, SIG_DFL);  // return re-executes the access, which now kills the process with SIGSEGV
    return;
  }
  chain_to_previous(sig, info, uctx);
}

}  // namespace

void register_slab(const char* base, std::size_t bytes, std::size_t stride_bytes, std::size_t guard_bytes) {
  std::lock_guard lock(registry_mutex);
  const std::size_t used = registry_used.load(std::memory_order_relaxed);
  std::size_t slot = used;
  for (std::size_t i = 0; i < used; ++i)
    if (registry[i].base.load(std::memory_order_relaxed) == nullptr) {
      slot = i;
      break;
    }
  if (slot == max_slabs) return;  // beyond the registry: overflows are still fatal, just not named
  registry[slot].bytes.store(bytes, std::memory_order_relaxed);
  registry[slot].stride.store(stride_bytes, std::memory_order_relaxed);
  registry[slot].guard.store(guard_bytes, std::memory_order_relaxed);
  registry[slot].base.store(base, std::memory_order_release);
  if (slot == used) registry_used.store(used + 1, std::memory_order_release);
}

void unregister_slab(const char* base) {
  std::lock_guard lock(registry_mutex);
  const std::size_t used = registry_used.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < used; ++i)
    if (registry[i].base.load(std::memory_order_relaxed) == base) registry[i].base.store(nullptr);
}

void install_handler() {
  std::call_once(install_once, [] {
    struct sigaction action {};
    action.sa_sigaction = &on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSEGV, &action, &previous_action);
  });
}

AltStack::AltStack() {
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;  // one already exists
  bytes_ = 64 * 1024;
  memory_ = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory_ == MAP_FAILED) {
    memory_ = nullptr;
    return;
  }
  stack_t ss{};
  ss.ss_sp = memory_;
  ss.ss_size = bytes_;
  installed_ = ::sigaltstack(&ss, nullptr) == 0;
}

AltStack::~AltStack() {
  if (installed_) {
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    ::sigaltstack(&ss, nullptr);
  }
  if (memory_ != nullptr) ::munmap(memory_, bytes_);
}

void canary_smashed(std::uint64_t fiber_id, const void* stack_limit) {
  write_str("tvt fiber: stack overflow in fiber ");
  write_num(fiber_id, 10);
  write_str(" (canary smashed at 0x");
  write_num(reinterpret_cast<std::uintptr_t>(stack_limit), 16);
  write_str(" on an UNGUARDED stack; memory may be corrupted)\n");
  std::abort();
}

}  // namespace tvt::fiber::overflow
