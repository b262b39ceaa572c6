// The frame allocator's slow paths: a thread's first use and its exit, refills, spills to the depot, slabs and
// large blocks (frame_pool.hpp has the design).
#include "coro/detail/frame_pool.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace tvt::coro::detail::frame_pool {
namespace {

// A depot list: blocks given back by threads, for any thread to take (an intrusive list: giving never allocates).
// `count` is written under the mutex and read without it, so that an empty depot costs a refill no lock: a stale
// zero only means carving a new block, a stale non-zero a look under the lock.
struct DepotList {
  FreeBlock* head = nullptr;
  std::atomic<std::uint32_t> count{0};
};

// Everything shared, under one mutex: taken once per slab, per half-list spilled or batch refilled (not to carve a
// block from the thread's own slab), and by threads that have exited (their late frees and allocations go through `orphan`).
struct Shared {
  std::mutex mutex;
  DepotList depot[2][classes];
  std::size_t depot_blocks = 0;
  char* super_next = nullptr;  // slabs left in the current mapping
  char* super_end = nullptr;
  std::size_t slabs = 0;
  ThreadCache orphan{};  // the lists of threads past their exit
};

Shared* shared_instance = nullptr;  // for the fork handlers, which must not run shared()'s initialisation guard

Shared& shared() {
  // Never destroyed: frames may be released during static destruction. A fork while another thread holds the mutex
  // must not leave the child's pool locked forever: the forking thread holds it across the fork.
  static Shared* const s = [] {
    shared_instance = new Shared;
    ::pthread_atfork([] { shared_instance->mutex.lock(); }, [] { shared_instance->mutex.unlock(); },
                     [] { shared_instance->mutex.unlock(); });
    return shared_instance;
  }();
  return *s;
}

// Made (and the fork handlers registered) before main: a fork while another thread ran shared()'s initialisation
// would leave the child waiting on that guard forever.
[[maybe_unused]] const bool shared_made_early = (shared(), true);

// `bytes` of fresh, zero, `slab_bytes`-aligned address space. Throws std::bad_alloc.
char* map_aligned(std::size_t bytes) {
  const std::size_t len = bytes + slab_bytes;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto* base = static_cast<char*>(p);
  auto* aligned = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(base) + slab_bytes - 1) & ~(slab_bytes - 1));
  if (aligned != base) ::munmap(base, static_cast<std::size_t>(aligned - base));
  const std::size_t tail = static_cast<std::size_t>(base + len - (aligned + bytes));
  if (tail != 0) ::munmap(aligned + bytes, tail);
  return aligned;
}

// Under the mutex. Pages are touched only as blocks are carved (RSS grows with use, not by slab).
char* take_slab(Shared& s) {
  constexpr std::size_t slabs_per_map = 64;  // 4 MiB of address space per mmap
  if (s.super_next == s.super_end) {
    s.super_next = map_aligned(slabs_per_map * slab_bytes);
    s.super_end = s.super_next + slabs_per_map * slab_bytes;
  }
  char* slab = s.super_next;
  s.super_next += slab_bytes;
  ++s.slabs;
  return slab;
}

std::size_t stride_of(std::size_t cls) noexcept { return (cls + 1) * granule; }

// Pops a block for class `cls` from `c` (its list is empty): a depot batch, else carved from the thread's slab.
// `lock` holds the mutex already (the orphan cache) or is taken only for the depot or a new slab.
void* refill(ThreadCache& c, std::size_t cls, bool odd, std::unique_lock<std::mutex>& lock) {
  Shared& s = shared();
  DepotList& depot = s.depot[odd][cls];
  if (depot.count.load(std::memory_order_relaxed) != 0 && !lock.owns_lock()) lock.lock();
  if (lock.owns_lock() && depot.head != nullptr) {  // up to half a list's worth: one returned, the rest the list
    FreeBlock* first = depot.head;
    FreeBlock* last = first;
    std::uint32_t n = 1;
    while (n < cache_blocks / 2 && last->next != nullptr) {
      last = last->next;
      ++n;
    }
    depot.head = last->next;
    depot.count.store(depot.count.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    s.depot_blocks -= n;
    last->next = nullptr;
    c.head[odd][cls] = first->next;
    c.count[odd][cls] = n - 1;
    return first;
  }
  const std::size_t stride = stride_of(cls);
  char*& bump = c.bump[odd][cls];
  const auto slab_end = [](char* p) {
    return reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p - 1) & ~(slab_bytes - 1)) + slab_bytes);
  };
  if (bump == nullptr || bump + stride > slab_end(bump)) {
    if (!lock.owns_lock()) lock.lock();
    char* slab = take_slab(s);
    ::new (slab) SlabHeader{static_cast<std::uint32_t>(cls), odd ? 1u : 0u, 0};
    bump = slab + slab_header_bytes + (odd ? 8 : 0);
  }
  void* block = bump;
  bump += stride;
  return block;
}

// Under the mutex: `n` blocks from `first` on (a null-terminated list) go to the depot.
void give(Shared& s, FreeBlock* first, std::uint32_t n, std::size_t cls, bool odd) {
  FreeBlock* last = first;
  while (last->next != nullptr) last = last->next;
  DepotList& depot = s.depot[odd][cls];
  last->next = depot.head;
  depot.head = first;
  depot.count.store(depot.count.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  s.depot_blocks += n;
}

// Under the mutex: the oldest half of an over-full list goes to the depot (all of it if `all`).
void spill(ThreadCache& c, std::size_t cls, bool odd, bool all) {
  Shared& s = shared();
  FreeBlock*& head = c.head[odd][cls];
  std::uint32_t& count = c.count[odd][cls];
  if (head == nullptr) return;
  const std::uint32_t keep = all ? 0 : count / 2;
  // The list is LIFO: keep the `keep` most recently freed (warm) blocks, give the rest.
  FreeBlock* batch = head;
  if (keep > 0) {
    FreeBlock* last_kept = head;
    for (std::uint32_t i = 1; i < keep; ++i) last_kept = last_kept->next;
    batch = last_kept->next;
    last_kept->next = nullptr;
  } else {
    head = nullptr;
  }
  const std::uint32_t given = count - keep;
  count = keep;
  give(s, batch, given, cls, odd);
}

thread_local constinit bool thread_gone = false;

// Gives the thread's lists to the depot when it exits.
struct ThreadExit {
  ~ThreadExit() {
    ThreadCache* c = thread_cache;
    thread_cache = nullptr;
    thread_gone = true;
    if (c == nullptr) return;
    std::lock_guard lock(shared().mutex);
    for (std::size_t odd = 0; odd < 2; ++odd)
      for (std::size_t cls = 0; cls < classes; ++cls) spill(*c, cls, odd != 0, true);
    std::free(c);
  }
};

ThreadCache* make_cache() {
  auto* c = static_cast<ThreadCache*>(std::calloc(1, sizeof(ThreadCache)));
  if (c == nullptr) throw std::bad_alloc();
  static thread_local ThreadExit at_exit;  // registers the exit hook
  (void)at_exit;
  thread_cache = c;
  return c;
}

void* allocate_large(std::size_t bytes, bool odd) {
  const std::size_t map_bytes = (slab_header_bytes + 8 + bytes + 4095) & ~std::size_t{4095};
  char* base = map_aligned(map_bytes);
  ::new (base) SlabHeader{SlabHeader::large, odd ? 1u : 0u, map_bytes};
  return base + slab_header_bytes + (odd ? 8 : 0);
}

}  // namespace

void* allocate_slow(std::size_t bytes, bool odd) {
  if (bytes > max_block) return allocate_large(bytes, odd);
  const std::size_t cls = (bytes - 1) / granule;
  std::unique_lock<std::mutex> lock(shared().mutex, std::defer_lock);
  ThreadCache* c = thread_cache;
  if (c == nullptr) {
    if (thread_gone) {
      lock.lock();
      c = &shared().orphan;
      if (FreeBlock* b = c->head[odd][cls]) {
        c->head[odd][cls] = b->next;
        --c->count[odd][cls];
        return b;
      }
    } else {
      c = make_cache();
    }
  }
  return refill(*c, cls, odd, lock);
}

void release_slow(void* block) noexcept {
  SlabHeader& slab = slab_of(block);
  if (slab.cls == SlabHeader::large) {
    ::munmap(&slab, slab.map_bytes);
    return;
  }
  ThreadCache* c = thread_cache;
  if (c == nullptr) {
    if (thread_gone) {
      std::lock_guard lock(shared().mutex);
      ThreadCache& o = shared().orphan;
      auto* b = static_cast<FreeBlock*>(block);
      b->next = o.head[slab.odd][slab.cls];
      o.head[slab.odd][slab.cls] = b;
      if (++o.count[slab.odd][slab.cls] > cache_blocks) spill(o, slab.cls, slab.odd != 0, false);
      return;
    }
    try {
      c = make_cache();
    } catch (const std::bad_alloc&) {
      std::lock_guard lock(shared().mutex);  // no cache to be had: straight to the depot
      auto* b = static_cast<FreeBlock*>(block);
      b->next = nullptr;
      give(shared(), b, 1, slab.cls, slab.odd != 0);
      return;
    }
    pooled_release(block);
    return;
  }
  // The list just went over cache_blocks (pooled_release pushed the block already).
  std::lock_guard lock(shared().mutex);
  spill(*c, slab.cls, slab.odd != 0, false);
}

void* bypass_allocate(std::size_t bytes, bool odd) {
  return static_cast<char*>(::operator new(bytes + (odd ? 8 : 0))) + (odd ? 8 : 0);
}

void bypass_release(void* block, bool odd) noexcept { ::operator delete(static_cast<char*>(block) - (odd ? 8 : 0)); }

Stats stats() noexcept {
  Shared& s = shared();
  std::lock_guard lock(s.mutex);
  return Stats{s.slabs, s.depot_blocks};
}

}  // namespace tvt::coro::detail::frame_pool
