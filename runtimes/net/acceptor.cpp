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
  int fd;
  do {
    // ECONNABORTED/EPROTO: that client gave up before we accepted it; the next one in the backlog is unaffected.
    fd = ::accept4(listen_fd_, nullptr, nullptr, accept_flags_);
  } while (fd < 0 && (errno == ECONNABORTED || errno == EPROTO || errno == EINTR));
  if (fd >= 0) return {AcceptStatus::accepted, UniqueFd(fd)};
  switch (errno) {
    case EAGAIN: return {AcceptStatus::would_block, {}};
    case EMFILE:
    case ENFILE: {
      const int limit_errno = errno;
      // accept4 reserves the new descriptor before it looks at the backlog, so EMFILE does not mean a connection is
      // pending. Free the spare and look: a pending connection is accepted and closed at once; an empty backlog is
      // would_block. (Reporting `shed` for an empty backlog made a loop that retries on `shed` spin at 100 % CPU:
      // the coro back ends did, found by hostile_limits_test.)
      spare_.reset();
      const int pending = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      const int pending_errno = errno;
      if (pending >= 0) ::close(pending);
      spare_ = open_spare();
      if (pending < 0 && (pending_errno == EAGAIN || pending_errno == EWOULDBLOCK))
        return {AcceptStatus::would_block, {}};
      static RateLimitedLog log;
      if (pending < 0) {  // the spare was lost to another thread: nothing could be shed this time
        log.write("accept: out of file descriptors (%s) and no spare to shed with", strerror_safe(pending_errno));
        return {AcceptStatus::failed, {}};
      }
      log.write("accept: out of file descriptors (%s); shedding new connections",
                limit_errno == EMFILE ? "EMFILE" : "ENFILE");
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
