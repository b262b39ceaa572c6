#pragma once
// The sans-I/O contract every workload's per-connection state satisfies. A session takes bytes as they arrive and
// appends what to send; it never touches a socket, a thread or a clock, so every back end runs the same bytes through
// the same code and the tests can split input at every byte boundary.
#include <concepts>
#include <string>
#include <string_view>

namespace tvt::protocol {

enum class Verdict {
  keep_open,  // send what was appended, then read more
  close,      // send what was appended, then close (Connection: close, 400/431, oversized line, ...)
};

// `consume(in, out)`: `in` is valid only during the call; whatever is unconsumed the session copies into state of its
// own (and only then: an idle session between whole requests owns no heap buffer). Replies are appended to `out`.
// `close_reason()` names why the last `close` verdict was given, for the server's log ("" for a clean close).
// `has_partial()` is true while a request is half-received: the loops use it for header-read timeouts (slowloris).
template <class S>
concept Session = std::movable<S> && requires(S s, const S cs, std::string_view in, std::string& out) {
  { s.consume(in, out) } -> std::same_as<Verdict>;
  { cs.close_reason() } -> std::convertible_to<std::string_view>;
  { cs.has_partial() } -> std::same_as<bool>;
};

}  // namespace tvt::protocol
