#pragma once
// The peer back ends: runtimes of other languages, each its own executable beside `server` (README.md here has the
// contract they all keep). The registry lists one of these types per back end; `server --backend <name>` execs
// `executable` with the same arguments (runtimes/server/main.cpp).
#include <string_view>

namespace tvt::peers {

struct GoPeer {
  static constexpr std::string_view name = "go";
  static constexpr std::string_view summary = "Go: a goroutine per connection, GOMAXPROCS=1";
  static constexpr std::string_view language = "Go";
  static constexpr std::string_view executable = "tvt-peer-go";
  static constexpr bool threads_option = false;
};

struct GoMtPeer {
  static constexpr std::string_view name = "go-mt";
  static constexpr std::string_view summary = "Go: a goroutine per connection, GOMAXPROCS = cores (or --threads)";
  static constexpr std::string_view language = "Go";
  static constexpr std::string_view executable = "tvt-peer-go";
  static constexpr bool threads_option = true;
};

struct TokioPeer {
  static constexpr std::string_view name = "tokio";
  static constexpr std::string_view summary = "Rust tokio: a task per connection, current-thread runtime";
  static constexpr std::string_view language = "Rust";
  static constexpr std::string_view executable = "tvt-peer-tokio";
  static constexpr bool threads_option = false;
};

struct TokioMtPeer {
  static constexpr std::string_view name = "tokio-mt";
  static constexpr std::string_view summary = "Rust tokio: a task per connection, multi-thread runtime";
  static constexpr std::string_view language = "Rust";
  static constexpr std::string_view executable = "tvt-peer-tokio";
  static constexpr bool threads_option = true;
};

struct AsyncStdPeer {
  static constexpr std::string_view name = "async-std";
  static constexpr std::string_view summary =
      "Rust async-std: task::spawn per connection on its global executor, one thread per core (or --threads)";
  static constexpr std::string_view language = "Rust";
  static constexpr std::string_view executable = "tvt-peer-async-std";
  static constexpr bool threads_option = true;
};

}  // namespace tvt::peers
