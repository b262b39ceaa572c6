// Slide: "a spawned future must be 'static" -- what a task may borrow. A spawned task can run after the statement
// (or the whole scope) that spawned it has ended, so it must own what it uses. Rust rejects the borrowing version
// at compile time; C++ compiles it, and it reads freed memory. The two fixes from the slides:
//   1. an owning wrapper: cheapo_owning_request(std::string host, ..., std::string path) takes its arguments by
//      value; they live in the coroutine frame, and it lends them to cheapo_request inside (cheapo.hpp);
//   2. an `async move` block: async_move(lambda) keeps the lambda, and so its by-value captures, in the frame.
// With --borrowing it also spawns cheapo_request(host, port, path) itself, borrowing two strings that die before the
// task first runs: undefined behaviour. It may even seem to work; under AddressSanitizer (the asan preset) it stops
// with "heap-use-after-free", which the asan build's ctest checks.
//   owning_request HOST PORT [--borrowing]
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "args.hpp"
#include "cheapo.hpp"
#include "coro/async_move.hpp"
#include "coro/block_on.hpp"
#include "coro/join_handle.hpp"
#include "coro/spawn.hpp"

using namespace tvt::coro;

namespace {

Task<void> run(std::string host_arg, std::uint16_t port, bool borrowing) {
  std::vector<std::pair<const char*, JoinHandle<std::string>>> tasks;
  {
    std::string host = host_arg;
    std::string path = "/delay/10?long-enough-to-live-on-the-heap-not-inside-the-string-object";
    tasks.emplace_back("owning wrapper", spawn_local(examples::cheapo_owning_request(host, port, path)));
    tasks.emplace_back("async_move block", spawn_local(async_move([host, port, path]() -> Task<std::string> {
                         co_return co_await examples::cheapo_request(host, port, path);  // borrows its own copies
                       })));
    if (borrowing)  // THE BUG: the task borrows `host` and `path`, which die at the closing brace below
      tasks.emplace_back("borrowing (bug)", spawn_local(examples::cheapo_request(host, port, path)));
  }  // host and path are destroyed here; none of the tasks has run yet
  for (auto& [name, handle] : tasks) {
    try {
      std::printf("%-18s %s\n", name, examples::status_and_body(co_await handle).c_str());
    } catch (const std::exception& e) {
      std::printf("%-18s error: %s\n", name, e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto server = examples::host_and_port(argc, argv, 0, 1, "[--borrowing]");
  if (!server) return 2;
  const bool borrowing = argc > 3 && std::string(argv[3]) == "--borrowing";
  block_on(run(server->host, server->port, borrowing));
}
