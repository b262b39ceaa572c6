#pragma once
// The contract every back end satisfies. A back end is a concurrency model plus a serve loop: given a listening
// socket, the server options and a stop signal, it serves connections until stop is requested, then closes every
// connection and returns. It measures nothing: load generators and bench_all observe it from outside.
//
// This folder sits below every back end and above protocol/: back ends include it, the registry (server/) includes
// the back ends. Nothing here names a back end.
#include <concepts>
#include <span>
#include <string_view>

#include "backend/server_options.hpp"
#include "backend/stop_signal.hpp"
#include "backend/variant.hpp"

namespace tvt::backend {

// `serve` may throw std::exception for a start-up failure; the server prints it and exits non-zero.
// `listen_fd` is a listening TCP socket owned by the caller (blocking; the back end may change that).
// `threads_option`: serve() honours ServerOptions::worker_threads (`--threads N`).
// `variants` (optional member): the variants the back end supports, e.g. `std::array{offload_variant}`.
template <class B>
concept Backend = requires(int listen_fd, const ServerOptions& options, StopSignal& stop) {
  { B::name } -> std::convertible_to<std::string_view>;
  { B::summary } -> std::convertible_to<std::string_view>;
  { B::threads_option } -> std::convertible_to<bool>;
  { B::serve(listen_fd, options, stop) } -> std::same_as<void>;
};

// A back end written in another language (runtimes/peers/): `server --backend <name> ...` execv()s `executable`,
// which sits beside `server` in the same bin/ folder, with the same argv. The peer parses the same options.
template <class P>
concept PeerBackend = requires {
  { P::name } -> std::convertible_to<std::string_view>;
  { P::summary } -> std::convertible_to<std::string_view>;
  { P::language } -> std::convertible_to<std::string_view>;
  { P::executable } -> std::convertible_to<std::string_view>;
  { P::threads_option } -> std::convertible_to<bool>;
};

}  // namespace tvt::backend
