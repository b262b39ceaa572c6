#pragma once
// What the blocking-style connection loop needs from a stream. A thread's stream blocks the thread; a fiber's parks
// the fiber. Either way the loop reads like straight-line code.
#include <concepts>
#include <string>
#include <string_view>

namespace tvt::blocking {

// read():  the next bytes received, in storage the stream chooses (a buffer on the thread's stack, a per-worker
//          scratch buffer for fibers); valid until the next call on the stream. Empty = end of stream, error, or idle
//          timeout: the connection is over (the stream logs errors worth logging).
// out():   where the loop appends replies; flush() sends all of it and empties it, false if the peer is gone.
//          A stream whose flush() can suspend must not let out() be shared with other connections while suspended.
template <class S>
concept BlockingStream = requires(S s) {
  { s.read() } -> std::same_as<std::string_view>;
  { s.out() } -> std::same_as<std::string&>;
  { s.flush() } -> std::same_as<bool>;
};

}  // namespace tvt::blocking
