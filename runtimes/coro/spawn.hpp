#pragma once
// The spawning verbs. spawn_local: into the pool of the enclosing block_on (same thread; polled whenever block_on's
// own task is pending). spawn: onto the current ThreadPool if called on one of its workers, else onto the global pool.
// Both start the task at once and return its JoinHandle; dropping the handle detaches the task.
#include <utility>

#include "coro/detail/local_pool.hpp"
#include "coro/detail/spawned_task.hpp"
#include "coro/join_handle.hpp"
#include "coro/task.hpp"
#include "coro/thread_pool.hpp"

namespace tvt::coro {

// Throws std::logic_error outside block_on (there is no local pool to put the task in).
template <class T>
JoinHandle<T> spawn_local(Task<T> task) {
  detail::LocalPool* pool = detail::LocalPool::current();
  if (pool == nullptr) [[unlikely]]
    detail::throw_spawn_local_outside_block_on();
  auto* spawned = detail::SpawnedTask<T>::adopt(std::move(task), *pool);
  spawned->state().store(detail::TaskHeader::scheduled, std::memory_order_relaxed);  // plain store: not shared yet
  pool->adopt(*spawned);
  return JoinHandle<T>(spawned);
}

template <class T>
JoinHandle<T> spawn(Task<T> task) {
  ThreadPool* pool = ThreadPool::current();
  return (pool != nullptr ? *pool : global_pool()).spawn(std::move(task));
}

}  // namespace tvt::coro
