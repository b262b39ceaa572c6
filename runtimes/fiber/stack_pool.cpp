#include "fiber/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>

#include "fiber/overflow_report.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13 uapi; glibc headers here predate it
#endif

namespace tvt::fiber {
namespace {

constexpr std::uint64_t canary_word = 0x7476'745f'6361'6e61ULL;  // "tvt_cana"
constexpr std::size_t canary_words = 8;
constexpr std::size_t reserved_mappings = 4096;  // left for malloc, thread stacks, libraries, sockets' mmaps

std::size_t page_round_up(std::size_t n) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

std::size_t process_mprotect_budget() {
  static const std::size_t budget = [] {
    std::size_t max_maps = 65530;
    std::ifstream in("/proc/sys/vm/max_map_count");
    in >> max_maps;
    return max_maps > reserved_mappings ? max_maps - reserved_mappings : 0;
  }();
  return budget;
}
// Mappings spent on mprotect guards by every pool in the process. Relaxed: a budget counter, it orders nothing.
std::atomic<std::size_t> process_mprotect_used{0};

// Whether MADV_GUARD_INSTALL works here, probed once. Relaxed: a cached fact, racing probes agree.
std::atomic<int> kernel_guards_known{-1};

void report_degraded_once(const char* why) {
  static std::atomic<bool> reported{false};
  if (!reported.exchange(true))
    std::fprintf(stderr,
                 "tvt fiber: %s; further fiber stacks are UNGUARDED (canary-checked at every switch instead). "
                 "StackPool::stats() counts them.\n",
                 why);
}

}  // namespace

const char* to_string(GuardMode mode) {
  switch (mode) {
    case GuardMode::kernel_guard: return "kernel_guard";
    case GuardMode::mprotect: return "mprotect";
    case GuardMode::canary: return "canary";
  }
  return "?";
}

StackPool::StackPool(Options options)
    : options_(options),
      usable_bytes_(page_round_up(options.stack_size_bytes < 16384 ? 16384 : options.stack_size_bytes)),
      stride_bytes_(usable_bytes_ + guard_bytes) {
  if (options_.stacks_per_slab == 0) options_.stacks_per_slab = 1;
  overflow::install_handler();
}

StackPool::~StackPool() {
  for (const auto& slab : slabs_) {
    overflow::unregister_slab(slab.base);
    ::munmap(slab.base, slab.bytes);
  }
  if (options_.mprotect_mapping_budget == 0) process_mprotect_used.fetch_sub(mprotect_mappings_used_);
}

void StackPool::carve_slab() {
  const std::size_t bytes = stride_bytes_ * options_.stacks_per_slab;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) throw std::bad_alloc();
  auto* base = static_cast<char*>(mem);
  slabs_.push_back({base, bytes});
  ++stats_.slabs;
  overflow::register_slab(base, bytes, stride_bytes_, guard_bytes);

  fresh_.clear();
  for (std::size_t i = options_.stacks_per_slab; i-- > 0;) {  // reversed: fresh_.back() is the lowest stack
    char* guard = base + i * stride_bytes_;
    Stack s{guard + guard_bytes, usable_bytes_, GuardMode::canary};
    if (options_.policy == GuardPolicy::automatic && kernel_guards_known.load(std::memory_order_relaxed) != 0) {
      if (::madvise(guard, guard_bytes, MADV_GUARD_INSTALL) == 0) {
        kernel_guards_known.store(1, std::memory_order_relaxed);
        s.guard = GuardMode::kernel_guard;
      } else {
        kernel_guards_known.store(0, std::memory_order_relaxed);
      }
    }
    if (s.guard == GuardMode::canary && options_.policy != GuardPolicy::canary_only) {
      // Two mappings per guard: the guard page's own and the split-off rest of the slab.
      bool within_budget;
      if (options_.mprotect_mapping_budget != 0) {
        within_budget = mprotect_mappings_used_ + 2 <= options_.mprotect_mapping_budget;
      } else {
        within_budget = process_mprotect_used.fetch_add(2, std::memory_order_relaxed) + 2 <= process_mprotect_budget();
        if (!within_budget) process_mprotect_used.fetch_sub(2, std::memory_order_relaxed);
      }
      if (within_budget && ::mprotect(guard, guard_bytes, PROT_NONE) == 0) {
        s.guard = GuardMode::mprotect;
        mprotect_mappings_used_ += 2;
      } else {
        if (within_budget && options_.mprotect_mapping_budget == 0)
          process_mprotect_used.fetch_sub(2, std::memory_order_relaxed);
        report_degraded_once(within_budget ? "mprotect of a guard page failed (vm.max_map_count reached?)"
                                           : "the guard-page mapping budget (vm.max_map_count) is spent");
      }
    }
    switch (s.guard) {
      case GuardMode::kernel_guard: ++stats_.kernel_guarded; break;
      case GuardMode::mprotect: ++stats_.mprotect_guarded; break;
      case GuardMode::canary: ++stats_.canary_only; break;
    }
    fresh_.push_back(s);
  }
}

Stack StackPool::acquire() {
  std::lock_guard lock(mutex_);
  if (!free_.empty()) {
    const Stack s = free_.back();
    free_.pop_back();
    return s;
  }
  if (!cold_.empty()) {
    const Stack s = cold_.back();
    cold_.pop_back();
    arm_canary(s);  // its pages, canary included, were dropped
    return s;
  }
  if (fresh_.empty()) carve_slab();
  const Stack s = fresh_.back();
  fresh_.pop_back();
  ++stats_.stacks_carved;
  arm_canary(s);
  return s;
}

void StackPool::release(const Stack& stack) {
  std::lock_guard lock(mutex_);
  free_.push_back(stack);
}

void StackPool::trim() {
  std::lock_guard lock(mutex_);
  if (free_.size() <= options_.warm_stacks) return;
  const auto excess = free_.size() - options_.warm_stacks;
  // The front of the LIFO holds the stacks released longest ago: the coldest in the caches too.
  for (std::size_t i = 0; i < excess; ++i) {
    // Only the usable range: the guard page below it (and a kernel guard marker) stays as it is.
    ::madvise(free_[i].limit, free_[i].size_bytes, MADV_DONTNEED);
    cold_.push_back(free_[i]);
  }
  free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(excess));
}

bool StackPool::has_excess() const {
  std::lock_guard lock(mutex_);
  return free_.size() > options_.warm_stacks;
}

void StackPool::arm_canary(const Stack& stack) {
  if (stack.guard != GuardMode::canary) return;
  auto* words = reinterpret_cast<std::uint64_t*>(stack.limit);
  for (std::size_t i = 0; i < canary_words; ++i) words[i] = canary_word;
}

bool StackPool::canary_intact(const Stack& stack) {
  if (stack.guard != GuardMode::canary) return true;
  const auto* words = reinterpret_cast<const std::uint64_t*>(stack.limit);
  for (std::size_t i = 0; i < canary_words; ++i)
    if (words[i] != canary_word) return false;
  return true;
}

StackPoolStats StackPool::stats() const {
  std::lock_guard lock(mutex_);
  StackPoolStats s = stats_;
  s.stacks_free = free_.size() + cold_.size();
  return s;
}

StackCache::~StackCache() {
  for (const auto& s : stacks_) pool_->release(s);
}

Stack StackCache::acquire() {
  if (!stacks_.empty()) {
    const Stack s = stacks_.back();
    stacks_.pop_back();
    return s;
  }
  return pool_->acquire();
}

void StackCache::release(const Stack& stack) {
  if (stacks_.capacity() == 0) stacks_.reserve(capacity);
  if (stacks_.size() == capacity) {
    // Hand the older half back so that other workers can reuse it.
    for (std::size_t i = 0; i < capacity / 2; ++i) pool_->release(stacks_[i]);
    stacks_.erase(stacks_.begin(), stacks_.begin() + capacity / 2);
  }
  stacks_.push_back(stack);
}

}  // namespace tvt::fiber
