#include "net/acceptor.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "net/log.hpp"

namespace tvt::net {
namespace {

UniqueFd open_spare() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

}  // namespace

Acceptor::Acceptor(int listen_fd, bool nonblocking_connections)
    : listen_fd_(listen_fd), accept_flags_(SOCK_CLOEXEC | (nonblocking_connections ? SOCK_NONBLOCK : 0)),
      spare_(open_spare()) {}

AcceptResult Acceptor::accept() {
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, accept_flags_);
  if (fd >= 0) return {AcceptStatus::accepted, UniqueFd(fd)};
  switch (errno) {
    case EAGAIN: return {AcceptStatus::would_block, {}};
    case EMFILE:
    case ENFILE: {
      static RateLimitedLog log;
      log.write("accept: out of file descriptors (%s); shedding new connections", errno == EMFILE ? "EMFILE" : "ENFILE");
      spare_.reset();
      UniqueFd(::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC));  // accepted and closed at once
      spare_ = open_spare();
      return {AcceptStatus::shed, {}};
    }
    default: {
      static RateLimitedLog log;
      log.write("accept: %s", strerror_safe(errno));
      return {AcceptStatus::failed, {}};
    }
  }
}

}  // namespace tvt::net
