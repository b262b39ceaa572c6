#pragma once
// The coroutine frame allocator: every Task frame block (task.hpp's FrameAllocation: the spawned-task prefix and the
// frame) comes from here. Why not malloc: a malloc chunk carries an 8-byte header and rounds to 16, so a 200-byte
// block costs 208 and a 192-byte one 208 too; and malloc+free cost ~100 instructions a spawn. Here a block costs its
// size rounded up to 16 (the stride of its class), and the common allocate and release are a pop and a push on a
// per-thread free list.
//
// Layout: blocks of one class (16-byte steps up to `max_block`) are carved from 64 KiB slabs aligned to 64 KiB;
// each slab's first 64 bytes say which class it serves, so a release needs no size (a spawned task's last release
// does not know its frame's size). A block is placed so that `block + lead` is 16-aligned, `lead` (0 or 8 mod 16)
// being the caller's prefix: the frame after the prefix gets the alignment operator new promises, with no padding
// between one block's prefix and the previous block's frame. Blocks over `max_block` get a mapping of their own.
//
// Threads: each thread has its own free lists (made on its first use, freed at its exit). A block may be released
// on any thread -- the `coro` pool moves tasks between workers -- and goes to the releasing thread's list. So that
// a thread which only releases (or only allocates) cannot hoard, a list over `cache_blocks` gives half of itself to
// a global depot (one lock per half-list), and an empty list takes a batch from the depot before carving new
// blocks. A thread's lists go to the depot when it exits.
//
// Memory returned or kept: slabs are never returned to the system. Free blocks are kept for reuse: at most
// `cache_blocks` per class per thread, the rest in the depot, so resident frame memory stays at the process's high
// water mark of live frames (as malloc keeps its arenas' freed chunks); every byte is in the process's RSS, which
// is what the memory benchmarks measure. Under ASan/TSan the pool is bypassed (`allocate`/`release` call
// ::operator new/delete), so a use of a freed frame is still reported; the unit test drives the pool itself.
#include <cstddef>
#include <cstdint>
#include <new>

namespace tvt::coro::detail::frame_pool {

inline constexpr std::size_t granule = 16;
inline constexpr std::size_t max_block = 4096;
inline constexpr std::size_t classes = max_block / granule;  // class c: blocks of (c + 1) * 16 bytes
inline constexpr std::size_t slab_bytes = 64 * 1024;
inline constexpr std::size_t slab_header_bytes = 64;
inline constexpr std::uint32_t cache_blocks = 64;  // per class and thread, before half goes to the depot

struct FreeBlock {
  FreeBlock* next;
};

// The first bytes of every slab (and of every large block's mapping).
struct SlabHeader {
  std::uint32_t cls;       // size class, or `large`
  std::uint32_t odd;       // blocks start 8 bytes past a 16-byte boundary
  std::size_t map_bytes;   // large: the mapping's length
  static constexpr std::uint32_t large = ~0u;
};

// One thread's free lists, indexed [odd][class]; `bump` carves the thread's current slab of that class.
struct ThreadCache {
  FreeBlock* head[2][classes];
  std::uint32_t count[2][classes];
  char* bump[2][classes];
};

// Null until the thread first allocates or releases a pooled block, and again after it exits. A pointer, not the
// cache itself: a thread_local of kilobytes would be reserved (and zeroed) in every thread of the process, the
// thread-per-connection back end's 10,000 threads included.
inline thread_local constinit ThreadCache* thread_cache = nullptr;

inline SlabHeader& slab_of(void* block) noexcept {
  return *reinterpret_cast<SlabHeader*>(reinterpret_cast<std::uintptr_t>(block) & ~(slab_bytes - 1));
}

void* allocate_slow(std::size_t bytes, bool odd);  // frame_pool.cpp
void release_slow(void* block) noexcept;

// A block of at least `bytes`, with `block + 8` 16-aligned if `odd`, else `block` itself. Throws std::bad_alloc.
inline void* pooled_allocate(std::size_t bytes, bool odd) {
  ThreadCache* c = thread_cache;
  if (bytes <= max_block && c != nullptr) [[likely]] {
    const std::size_t cls = (bytes - 1) / granule;
    if (FreeBlock* b = c->head[odd][cls]) [[likely]] {
      c->head[odd][cls] = b->next;
      --c->count[odd][cls];
      return b;
    }
  }
  return allocate_slow(bytes, odd);
}

// Any thread; `block` came from pooled_allocate (on any thread).
inline void pooled_release(void* block) noexcept {
  ThreadCache* c = thread_cache;
  const SlabHeader& slab = slab_of(block);
  if (c != nullptr && slab.cls != SlabHeader::large) [[likely]] {
    auto* b = static_cast<FreeBlock*>(block);
    b->next = c->head[slab.odd][slab.cls];
    c->head[slab.odd][slab.cls] = b;
    if (++c->count[slab.odd][slab.cls] <= cache_blocks) [[likely]]
      return;
  }
  release_slow(block);  // no cache yet (or any more), a large block, or a list to halve
}

// Blocks in every thread's lists and the depot, and slabs taken (for tests).
struct Stats {
  std::size_t slabs = 0;
  std::size_t depot_blocks = 0;
};
Stats stats() noexcept;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool bypassed = true;
#else
inline constexpr bool bypassed = false;
#endif

// The sanitizer builds' blocks: plain ::operator new/delete, out of line (frame_pool.cpp). Inlined, GCC follows a
// block from FrameAllocation's class operator new to ::operator delete and warns of a mismatched pair
// (-Wmismatched-new-delete), though both ends are this pair.
void* bypass_allocate(std::size_t bytes, bool odd);
void bypass_release(void* block, bool odd) noexcept;

// What FrameAllocation calls: the pool, or plain ::operator new under sanitizers (see above).
inline void* allocate(std::size_t bytes, bool odd) {
  if constexpr (bypassed) return bypass_allocate(bytes, odd);
  return pooled_allocate(bytes, odd);
}
inline void release(void* block, bool odd) noexcept {
  if constexpr (bypassed) {
    bypass_release(block, odd);
    return;
  }
  pooled_release(block);
}

}  // namespace tvt::coro::detail::frame_pool
