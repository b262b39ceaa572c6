// Slide: "the synchronous cheapo_request" -- the starting point. Blocking sockets: connect, send the request, shut
// down the write half, read until the server closes. The thread waits inside each call; one request at a time.
//   cheapo_request_sync HOST PORT PATH
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>

#include "args.hpp"
#include "coro/tcp_resolve.hpp"  // resolve_blocking: getaddrinfo, as std::net::TcpStream::connect does
#include "net/unique_fd.hpp"

namespace {

tvt::net::UniqueFd connect_blocking(const std::string& host, std::uint16_t port) {
  int err = 0;
  for (const auto& address : tvt::coro::resolve_blocking(host, port)) {  // each address in turn
    tvt::net::UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd && ::connect(fd.get(), address.get(), address.size()) == 0) return fd;
    err = errno;
  }
  throw std::system_error(err, std::generic_category(), "connect " + host + ":" + std::to_string(port));
}

std::string cheapo_request(const std::string& host, std::uint16_t port, const std::string& path) {
  tvt::net::UniqueFd socket = connect_blocking(host, port);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
  for (std::size_t sent = 0; sent < request.size();) {
    const auto n = ::send(socket.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) throw std::system_error(errno, std::generic_category(), "send");
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(socket.get(), SHUT_WR);
  std::string response;
  char buf[4096];
  for (;;) {
    const auto n = ::read(socket.get(), buf, sizeof buf);
    if (n < 0) throw std::system_error(errno, std::generic_category(), "read");
    if (n == 0) return response;
    response.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto server = examples::host_and_port(argc, argv, 1, 1, "PATH");
  if (!server) return 2;
  try {
    std::fputs(cheapo_request(server->host, server->port, argv[3]).c_str(), stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
