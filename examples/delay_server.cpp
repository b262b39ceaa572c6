// delay_server [--host H] [--port P]: the web server the request examples talk to, on loopback, so they need no
// network. `GET /delay/<ms>` is answered after <ms> milliseconds (requests are served concurrently), any other path
// at once; each reply says how long it slept and closes the connection. Prints `ready port=<p>` when listening.
// It is itself an async server in the seed's style: block_on an accept loop, spawn_local a task per connection.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "args.hpp"
#include "coro/block_on.hpp"
#include "coro/sleep.hpp"
#include "coro/spawn.hpp"
#include "coro/tcp_listener.hpp"
#include "coro/tcp_stream.hpp"

using namespace tvt::coro;

namespace {

Task<void> serve(TcpStream s) {
  std::string request;
  char buf[1024];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 64 * 1024) {
    const auto n = co_await s.read(buf);
    if (n == 0) co_return;
    request.append(buf, n);
  }
  int delay_ms = 0;
  if (const auto at = request.find(" /delay/"); at != std::string::npos)
    std::from_chars(request.data() + at + 8, request.data() + request.size(), delay_ms);
  co_await sleep(std::chrono::milliseconds(delay_ms));
  const std::string body = "slept " + std::to_string(delay_ms) + " ms\n";
  co_await s.write_all("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  s.shutdown(Shutdown::write);
}

Task<void> accept_loop(TcpListener listener) {
  for (;;) {
    try {
      auto connection = co_await listener.accept();
      spawn_local(serve(std::move(connection))).detach();  // dropping the handle detaches: it runs on
    } catch (const std::exception& e) {
      std::fprintf(stderr, "delay_server: %s\n", e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::optional<std::uint16_t> port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--host") host = argv[i + 1];
    else if (flag == "--port") port = examples::parse_port(argv[i + 1]);
  }
  if (!port) {
    std::fprintf(stderr, "usage: %s [--host H] [--port P]\n", argv[0]);
    return 2;
  }
  try {
    auto listener = TcpListener::bind(host, *port);
    std::printf("ready port=%u\n", static_cast<unsigned>(listener.local_port()));
    std::fflush(stdout);
    block_on(accept_loop(std::move(listener)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "delay_server: %s\n", e.what());
    return 1;
  }
}
