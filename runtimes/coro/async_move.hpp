#pragma once
// async_move(f): C++'s `async move { ... }`. A lambda coroutine keeps its captures in the lambda object, not in the
// coroutine frame, so `spawn([s = std::string("x")]() -> Task<void> { ... }())` reads a dead lambda once the
// statement ends. async_move takes the lambda *by value* as a coroutine parameter, which lives in the frame, so its
// captures (owned strings, moved-in sockets) live exactly as long as the task:
//   spawn(async_move([host = std::move(host)]() -> Task<std::string> { co_return co_await request(host); }));
// Borrowing (capturing by reference, or passing a reference to a coroutine) is only safe when the borrowed object
// outlives the task -- something the C++ compiler does not check (Rust's 'static bound does): the rule here is
// "spawned coroutines take parameters by value; async blocks go through async_move".
#include <type_traits>
#include <utility>

#include "coro/task.hpp"

namespace tvt::coro {

template <class F>
std::invoke_result_t<F&> async_move(F f) {
  co_return co_await f();
}

}  // namespace tvt::coro
