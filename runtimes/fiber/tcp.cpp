#include "fiber/tcp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "fiber/detail/io_wait.hpp"
#include "fiber/detail/worker.hpp"
#include "net/socket.hpp"

namespace tvt::fiber {

TcpStream::TcpStream(net::UniqueFd fd) : fd_(std::move(fd)) {
  net::set_nonblocking(fd_.get());
  detail::Worker& w = *detail::current_worker();
  w.uses_reactor = true;
  w.reactor.add(fd_.get(), registration_);
}

TcpStream::~TcpStream() {
  if (registration_.registered()) registration_.reactor()->remove(registration_);
}

net::UniqueFd TcpStream::connect(const std::string& host, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1)
    throw std::system_error(EINVAL, std::generic_category(), "connect: not an IPv4 address: " + host);
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) throw std::system_error(errno, std::generic_category(), "connect");
    detail::Worker& w = *detail::current_worker();
    reactor::Registration reg;
    w.uses_reactor = true;
    w.reactor.add(fd.get(), reg);
    int err = 0;
    for (;;) {
      socklen_t len = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) break;
      // Writable means the handshake finished; a spurious wake sees neither an error nor a peer yet.
      sockaddr_in peer{};
      socklen_t peer_len = sizeof peer;
      if (::getpeername(fd.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) break;
      detail::wait_io(reg, reactor::Direction::write);
    }
    reg.reactor()->remove(reg);
    if (err != 0) throw std::system_error(err, std::generic_category(), "connect");
  }
  return fd;
}

long TcpStream::read_some(char* data, std::size_t size, std::optional<reactor::Clock::time_point> deadline) {
  for (;;) {
    const long n = net::recv_some(fd_.get(), data, size);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
    if (detail::wait_io(registration_, reactor::Direction::read, deadline) == detail::IoWaitResult::timed_out) {
      errno = ETIMEDOUT;
      return -1;
    }
  }
}

bool TcpStream::write_all(std::string_view data, std::optional<reactor::Clock::time_point> deadline) {
  while (!data.empty()) {
    const long n = net::send_some(fd_.get(), data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (detail::wait_io(registration_, reactor::Direction::write, deadline) == detail::IoWaitResult::timed_out)
        return false;
      continue;
    }
    return false;
  }
  return true;
}

void TcpStream::shutdown(int how) { ::shutdown(fd_.get(), how); }

TcpListener::TcpListener(int listen_fd) : fd_(listen_fd) {
  net::set_nonblocking(fd_);
  detail::Worker& w = *detail::current_worker();
  w.uses_reactor = true;
  w.reactor.add(fd_, registration_);
}

TcpListener::~TcpListener() {
  if (registration_.registered()) registration_.reactor()->remove(registration_);
}

net::UniqueFd TcpListener::accept(reactor::Registration* cancel) {
  for (;;) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return net::UniqueFd(fd);
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {};
    if (detail::wait_io(registration_, reactor::Direction::read, std::nullopt, cancel) ==
        detail::IoWaitResult::cancelled)
      return {};
  }
}

}  // namespace tvt::fiber
