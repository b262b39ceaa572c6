// minimal_thread_server: the yardstick for the `threads` back end (issue 20). What a competent author writes as a
// thread-per-connection HTTP server in an afternoon: blocking sockets, one std::thread per connection, a 1 KiB read
// buffer on the thread's stack, and the same reply bytes as `server --workload http` with its default body.
//
// It is NOT a back end and keeps none of the suite's rules: no request parsing beyond finding "\r\n\r\n", no limits,
// no idle or slowloris timeouts, no clean shutdown (SIGINT/SIGTERM kill it), no handling of failed thread creation.
// Only bench/reference/compare.py runs it, to measure the `threads` back end against it back to back.
//
//   minimal_thread_server [--port P]     prints "ready port=<p> pid=<pid>" like `server`, then serves forever
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

namespace {

constexpr std::string_view reply =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

// Serves until the peer closes or a send fails.
void serve_requests(int fd) {
  char buffer[1024];
  unsigned matched = 0;  // how much of "\r\n\r\n" the bytes so far end with (a request may span reads)
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    unsigned requests = 0;
    for (ssize_t i = 0; i < n; ++i) {
      const char want = (matched % 2 == 0) ? '\r' : '\n';
      matched = buffer[i] == want ? matched + 1 : (buffer[i] == '\r' ? 1 : 0);
      if (matched == 4) {
        ++requests;
        matched = 0;
      }
    }
    for (; requests > 0; --requests)
      if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(reply.size())) return;
  }
}

void serve(int fd) {
  serve_requests(fd);
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
  std::signal(SIGPIPE, SIG_IGN);
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, SOMAXCONN) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("minimal_thread_server");
    return 1;
  }
  std::printf("ready port=%u pid=%d\n", ntohs(addr.sin_port), ::getpid());
  std::fflush(stdout);
  for (;;) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread(serve, fd).detach();
  }
}
