// Invariants: socket_stream.hpp. Every access to per-worker scratch goes through detail::current_worker() right
// before use, never across a switch: the fiber may resume on another worker.
#include "fiber/socket_stream.hpp"

#include <cerrno>

#include "fiber/detail/io_wait.hpp"
#include "fiber/detail/worker.hpp"
#include "net/socket.hpp"

namespace tvt::fiber {
namespace {

// Empties the worker's out scratch; a scratch grown by one huge reply (a 1 MiB body, pipelined) is given back
// rather than kept by the worker for good.
void release_scratch(std::string& scratch) {
  constexpr std::size_t keep_bytes = 64 * 1024;
  if (scratch.capacity() > keep_bytes) {
    std::string().swap(scratch);
  } else {
    scratch.clear();
  }
}

}  // namespace

SocketStream::SocketStream(TcpStream& stream, std::chrono::milliseconds idle_timeout, Buffers buffers)
    : stream_(&stream), idle_timeout_(idle_timeout) {
  if (buffers == Buffers::per_connection) {
    own_read_buffer_.reset(new char[connection_read_bytes]);
    own_out_ = true;
  }
}

std::optional<reactor::Clock::time_point> SocketStream::deadline() const {
  if (idle_timeout_.count() <= 0) return std::nullopt;
  return reactor::Clock::now() + idle_timeout_;
}

std::string_view SocketStream::read() {
  std::optional<reactor::Clock::time_point> until;
  bool deadline_set = false;
  for (;;) {
    if (!maybe_readable_) {
      // The last recv drained the socket: park first instead of paying a recv that would say EAGAIN. Safe with the
      // reactor's protocol: an edge that arrived since then left `ready` in the slot, and the park returns at once.
      if (!deadline_set) {
        until = deadline();
        deadline_set = true;
      }
      if (detail::wait_io(stream_->registration(), reactor::Direction::read, until) == detail::IoWaitResult::timed_out)
        return {};
      maybe_readable_ = true;
    }
    char* buffer;
    std::size_t size;
    if (own_read_buffer_) {
      buffer = own_read_buffer_.get();
      size = connection_read_bytes;
    } else {
      detail::Worker* w = detail::current_worker();
      buffer = w->read_scratch.get();
      size = detail::Worker::read_scratch_bytes;
    }
    const long n = net::recv_some(stream_->fd(), buffer, size);
    if (n > 0) {
      maybe_readable_ = static_cast<std::size_t>(n) == size;  // short read: the socket was empty afterwards
      return {buffer, static_cast<std::size_t>(n)};
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return {};
    maybe_readable_ = false;
  }
}

std::string& SocketStream::out() { return own_out_ ? pending_ : detail::current_worker()->out_scratch; }

bool SocketStream::flush() {
  if (own_out_) {
    const bool sent = stream_->write_all(pending_, deadline());
    release_scratch(pending_);
    return sent;
  }
  std::string& scratch = detail::current_worker()->out_scratch;
  std::string_view rest = scratch;
  while (!rest.empty()) {
    const long n = net::send_some(stream_->fd(), rest.data(), rest.size());
    if (n > 0) {
      rest.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    release_scratch(scratch);
    return false;
  }
  if (rest.empty()) {
    release_scratch(scratch);
    return true;
  }
  // The socket is full: move what is left to the connection's own storage before parking.
  pending_.assign(rest);
  release_scratch(scratch);
  const bool sent = stream_->write_all(pending_, deadline());
  std::string().swap(pending_);
  return sent;
}

}  // namespace tvt::fiber
