#pragma once
// block_on(task): the bridge from ordinary code. Drives `task` to completion on the calling thread and returns its
// value (or rethrows its exception). While it is pending, the thread runs the local tasks spawned with spawn_local,
// and with nothing runnable it sleeps in epoll_wait until I/O, a timer or another thread's wake: it never spins.
// Local tasks still unfinished when `task` completes are cancelled (and unwound) before block_on returns.
// Calling it inside a task is an error (it would block the thread the task runs on): co_await instead.
#include <stdexcept>
#include <utility>

#include "coro/detail/local_pool.hpp"
#include "coro/detail/task_header.hpp"
#include "coro/join_handle.hpp"
#include "coro/spawn.hpp"
#include "coro/task.hpp"

namespace tvt::coro {

template <class T>
T block_on(Task<T> task) {
  if (detail::current_task() != nullptr)
    throw std::logic_error("coro::block_on called inside a task; co_await the task instead");
  if (detail::LocalPool::current() != nullptr) throw std::logic_error("coro::block_on called inside block_on");
  detail::LocalPool pool;
  JoinHandle<T> handle = spawn_local(std::move(task));
  pool.run_until_complete(handle.header());
  return handle.take_result();
}

}  // namespace tvt::coro
