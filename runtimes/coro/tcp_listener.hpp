#pragma once
// TcpListener: a listening socket whose accept() suspends the task. Same error style as TcpStream. When the process
// runs out of descriptors, accept sheds the pending connection (accepts and closes it) instead of spinning (see
// net/acceptor.hpp) and keeps waiting.
#include <cstdint>
#include <string>

#include "coro/async_fd.hpp"
#include "coro/task.hpp"
#include "coro/tcp_stream.hpp"
#include "net/acceptor.hpp"

namespace tvt::coro {

class TcpListener {
 public:
  // Binds and listens on host:port (port 0: the kernel picks one). `host`: an IPv4 address, "localhost", or an IPv6
  // literal ("::1"; the socket is then IPv6-only).
  static TcpListener bind(const std::string& host, std::uint16_t port);
  // Uses a listening socket someone else owns (the server's); it is made non-blocking.
  static TcpListener borrow(int listen_fd);

  // The next connection (non-blocking, TCP_NODELAY).
  Task<TcpStream> accept();
  std::uint16_t local_port() const;

 private:
  TcpListener(int fd, Ownership ownership);
  AsyncFd io_;
  net::Acceptor acceptor_;
};

}  // namespace tvt::coro
