#pragma once
// Fiber sockets: non-blocking fds on the worker's reactor, whose calls park the fiber until the socket is ready,
// so they read like blocking calls. Neither class is movable: the reactor holds the address of the Registration.
//
// A TcpStream registers with the reactor of the worker that constructs it and stays there; if its fiber migrates,
// readiness still arrives through that reactor and the fiber is resumed on that reactor's worker.
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/unique_fd.hpp"
#include "reactor/registration.hpp"
#include "reactor/timer.hpp"

namespace tvt::fiber {

class TcpStream {
 public:
  // Takes a connected socket (made non-blocking here) and registers it. Requires a fiber worker.
  explicit TcpStream(net::UniqueFd fd);
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();  // deregisters, then closes

  // Connects to host:port (IPv4 dotted or "localhost"), parking while the handshake runs. Throws
  // std::system_error on failure.
  static net::UniqueFd connect(const std::string& host, std::uint16_t port);

  // > 0 bytes read, 0 end of stream, -1 error (errno; ETIMEDOUT when `deadline` passed first).
  long read_some(char* data, std::size_t size, std::optional<reactor::Clock::time_point> deadline = std::nullopt);
  // Sends all of `data`, parking while the socket buffer is full. False if the peer is gone or `deadline` passed.
  bool write_all(std::string_view data, std::optional<reactor::Clock::time_point> deadline = std::nullopt);
  // Wakes both directions of every fiber using this socket (it reads end-of-stream, writes fail).
  void shutdown(int how = SHUT_RDWR);

  int fd() const { return fd_.get(); }
  reactor::Registration& registration() { return registration_; }

 private:
  net::UniqueFd fd_;
  reactor::Registration registration_;
};

// A listening socket on the fiber reactor. Does not own `listen_fd`.
class TcpListener {
 public:
  explicit TcpListener(int listen_fd);
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener();

  // The next connection (non-blocking), parking until one arrives. An empty fd if `cancel` (a registered fd)
  // became readable first, or on an error other than the transient ones (which are retried).
  net::UniqueFd accept(reactor::Registration* cancel = nullptr);
  reactor::Registration& registration() { return registration_; }

 private:
  int fd_;
  reactor::Registration registration_;
};

}  // namespace tvt::fiber
