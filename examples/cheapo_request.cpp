// Slide: "async fn and block_on" -- the same request as cheapo_request_sync, as a coroutine. Every call that could
// block is a co_await: the task returns Pending there and the executor resumes it at that very point when the socket
// is ready. block_on is the bridge from main: it polls the task and sleeps in epoll_wait in between.
// The host may be a name (resolved on the blocking pool, off the event loop), an IPv4 or an IPv6 literal.
//   cheapo_request HOST PORT PATH
#include <cstdio>
#include <exception>
#include <string>

#include "args.hpp"
#include "cheapo.hpp"
#include "coro/block_on.hpp"

int main(int argc, char** argv) {
  const auto server = examples::host_and_port(argc, argv, 1, 1, "PATH");
  if (!server) return 2;
  const std::string path = argv[3];
  try {
    // Borrowing host and path is fine here: block_on returns before they go away.
    const std::string response = tvt::coro::block_on(examples::cheapo_request(server->host, server->port, path));
    std::fputs(response.c_str(), stdout);
  } catch (const std::exception& e) {  // what `?` would have carried up to main
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
