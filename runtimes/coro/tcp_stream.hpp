#pragma once
// TcpStream: a connected, non-blocking TCP socket whose operations suspend the task instead of blocking the thread.
// Error style, everywhere in coro I/O: failures throw std::system_error (errno's code, the call in what()); end of
// stream is not an error for read (it returns 0) but is for read_exact (errc::connection_aborted, "unexpected end
// of stream"). Every awaiting operation is a cancellation point.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "coro/async_fd.hpp"
#include "coro/task.hpp"
#include "net/unique_fd.hpp"

namespace tvt::coro {

enum class Shutdown { read, write, both };

class TcpStream {
 public:
  TcpStream() = default;
  // Takes a connected socket (made non-blocking here).
  explicit TcpStream(net::UniqueFd fd);

  // Connects to host:port, suspending while the handshake is in flight. `host` is a name (resolved on the blocking
  // pool, see tcp_resolve.hpp) or an IPv4/IPv6 literal; each resolved address is tried in turn. Throws
  // std::system_error: resolve_category() for a name that does not resolve, errno's code (with the address) when no
  // address accepts the connection.
  static Task<TcpStream> connect(std::string host, std::uint16_t port);

  // Reads some bytes into `buffer`; 0 = end of stream.
  Task<std::size_t> read(std::span<char> buffer);
  // Fills `buffer` completely or throws.
  Task<void> read_exact(std::span<char> buffer);
  // Appends everything up to end of stream to `out`; returns the number of bytes appended.
  Task<std::size_t> read_to_string(std::string& out);
  // Writes all of `data` (which must stay alive until this completes). With `stall_limit` > 0, throws
  // std::system_error(errc::timed_out) when the peer takes no byte for that long (a client that never reads).
  Task<void> write_all(std::string_view data, std::chrono::milliseconds stall_limit = std::chrono::milliseconds(0));
  // shutdown(2); never suspends.
  void shutdown(Shutdown how);

  // Non-suspending building blocks for loops that manage their own buffers (the server):
  // try_read: bytes read (0 = end of stream), nullopt if nothing is available now. Throws on errors.
  std::optional<std::size_t> try_read(std::span<char> buffer);
  // try_write: bytes written now (maybe fewer than asked, 0 if the socket buffer is full). Throws on errors.
  std::size_t try_write(std::string_view data);
  // Waits until readable (see AsyncFd::Wait; `idle_limit` > 0 bounds the wait).
  AsyncFd::Wait readable(std::chrono::milliseconds idle_limit = std::chrono::milliseconds(0)) noexcept {
    return io_.readable(idle_limit);
  }
  AsyncFd::Wait writable(std::chrono::milliseconds stall_limit = std::chrono::milliseconds(0)) noexcept {
    return io_.writable(stall_limit);
  }

  int fd() const noexcept { return io_.fd(); }
  bool valid() const noexcept { return io_.valid(); }

 private:
  AsyncFd io_;
};

}  // namespace tvt::coro
