#pragma once
// Fiber stacks: carved from large slabs, pooled and reused, each with a guard page below it.
//
// Guards, and why slabs. vm.max_map_count (65,530 here) caps the mappings of a process. A guard made with
// mprotect(PROT_NONE) splits its slab's mapping around it, so each guarded stack costs two mappings whether it has a
// mapping of its own or shares a slab: ~32,700 guarded stacks is the ceiling, and Boost 1.74's protected stack then
// silently loses its guard. Three modes, chosen per slab, best first:
//   kernel_guard  MADV_GUARD_INSTALL (Linux >= 6.13): the guard is a page-table marker, the slab stays ONE mapping
//                 however many stacks it holds (64 stacks per mapping by default).
//   mprotect      a PROT_NONE page per stack: two mappings per stack, while the process-wide budget lasts
//                 (vm.max_map_count minus headroom for malloc, threads and libraries).
//   canary        no guard page; a canary word at the stack's low end, checked whenever the fiber switches out and
//                 when it finishes. Degraded, never silent: counted in stats() and reported once on stderr.
// A fault in any guard page is reported with the fiber that overflowed (overflow_report.hpp).
//
// Memory: stacks are MAP_NORESERVE and only touched pages become resident. A fresh stack is handed out without
// touching it; a released one keeps its touched pages for the next fiber (reuse is the point of the pool). When a
// worker has been idle for a while it calls trim(): free stacks past `warm_stacks` give their pages back
// (MADV_DONTNEED), so a burst of 10,000 connections does not stay resident after it ends, while a busy server or a
// benchmark that spawns 10,000 fibers in a loop never pays a syscall and a page fault per stack.
//
// Thread safety: acquire/release lock a mutex; schedulers keep a per-worker StackCache in front of it so a spawn
// usually takes no lock.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace tvt::fiber {

enum class GuardMode : std::uint8_t { kernel_guard, mprotect, canary };
const char* to_string(GuardMode mode);

struct Stack {
  char* limit = nullptr;         // lowest usable byte, just above the guard page
  std::size_t size_bytes = 0;    // usable bytes; the stack grows down from limit + size_bytes
  GuardMode guard = GuardMode::canary;

  char* top() const { return limit + size_bytes; }
  explicit operator bool() const { return limit != nullptr; }
};

struct StackPoolStats {
  std::size_t slabs = 0;              // mappings made (one mmap each)
  std::size_t stacks_carved = 0;      // stacks ever handed out fresh
  std::size_t stacks_free = 0;        // in the pool's free list (not counting per-worker caches)
  std::size_t kernel_guarded = 0;     // carved stacks per guard mode
  std::size_t mprotect_guarded = 0;
  std::size_t canary_only = 0;
};

class StackPool {
 public:
  enum class GuardPolicy : std::uint8_t {
    automatic,      // kernel_guard if the kernel has it, else mprotect while the budget lasts, else canary
    mprotect_only,  // skip kernel guards (tests, comparison): mprotect, then canary
    canary_only,    // no guard pages at all (tests of the degraded mode)
  };
  struct Options {
    std::size_t stack_size_bytes = 64 * 1024;  // usable bytes per stack (rounded up to pages); the guard is extra
    std::size_t stacks_per_slab = 64;
    std::size_t warm_stacks = 256;  // free stacks trim() leaves warm; the rest give their pages back
    GuardPolicy policy = GuardPolicy::automatic;
    // Mappings this pool may spend on mprotect guards; 0 = the process-wide default budget, shared by all pools.
    std::size_t mprotect_mapping_budget = 0;
  };

  explicit StackPool(Options options);
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  // Unmaps every slab. Every stack must have been released (fibers finished).
  ~StackPool();

  // A stack, reused if one is free, else carved from a slab. Throws std::bad_alloc if no memory can be mapped.
  Stack acquire();
  void release(const Stack& stack);
  // Gives back the pages of free stacks past `warm_stacks` (the least recently used ones). For idle moments.
  void trim();
  bool has_excess() const;

  // Canary mode: writes the canary at a fresh stack's low end / checks it. Both no-ops for guarded stacks.
  static void arm_canary(const Stack& stack);
  static bool canary_intact(const Stack& stack);

  std::size_t stack_size_bytes() const { return usable_bytes_; }
  StackPoolStats stats() const;

  static constexpr std::size_t guard_bytes = 4096;

 private:
  void carve_slab();  // under mutex_

  Options options_;
  std::size_t usable_bytes_;
  std::size_t stride_bytes_;

  mutable std::mutex mutex_;
  std::vector<Stack> free_;      // released stacks, reused LIFO (their touched pages are warm)
  std::vector<Stack> cold_;      // released stacks whose pages were given back (reused before fresh ones)
  struct Slab {
    char* base;
    std::size_t bytes;
  };
  std::vector<Slab> slabs_;
  std::vector<Stack> fresh_;      // stacks of the newest slab not yet handed out (untouched memory)
  StackPoolStats stats_;
  std::size_t mprotect_mappings_used_ = 0;  // against options_.mprotect_mapping_budget when that is non-zero
};

// A per-worker LIFO of free stacks in front of a StackPool: no lock on the common path. Owned by one thread.
class StackCache {
 public:
  explicit StackCache(StackPool& pool) : pool_(&pool) {}
  StackCache(const StackCache&) = delete;
  StackCache& operator=(const StackCache&) = delete;
  ~StackCache();  // returns everything to the pool

  Stack acquire();
  void release(const Stack& stack);
  // Gives back the pages of free stacks past `warm_stacks` (the least recently used ones). For idle moments.
  void trim();
  bool has_excess() const;
  StackPool& pool() const { return *pool_; }

 private:
  static constexpr std::size_t capacity = 128;
  StackPool* pool_;
  std::vector<Stack> stacks_;
};

}  // namespace tvt::fiber
