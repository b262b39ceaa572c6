#pragma once
// A misbehaving server for loadgen's hostile-server suite: a loopback listener on an ephemeral port, and one thread per
// accepted connection running the case's Behaviour on a Peer.
//
// Bounded in every dimension: at most `max_connections` are served (later ones are closed at once), every wait polls
// in short steps and ends when the server stops, and a behaviour that writes forever stops when the client goes or
// the server stops. Shutdown order (destructor): set `stop_`, join the accept thread (it closes the listener), then
// join every connection thread (each closes its socket).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tvt::hostile {

// One accepted connection, as a behaviour sees it. Every call returns false once the client has gone (EOF, RST, a
// failed write) or the server is stopping, so a behaviour is a straight line of calls joined by `&&`.
class Peer {
 public:
  Peer(int fd, const std::atomic<bool>& stop, std::atomic<std::int64_t>& written)
      : fd_(fd), stop_(stop), written_(written) {}
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // Reads until `delimiter` has arrived (at most 64 KiB); the bytes read go to `request` (which may extend past it).
  bool read_request(std::string_view delimiter, std::string* request = nullptr);
  // Reads whatever comes and throws it away, until the client goes or the server stops.
  void discard_until_gone();
  // Writes all of `bytes` (waiting while the client's window is full).
  bool write(std::string_view bytes);
  // Writes `chunk` again and again: an endless reply.
  void write_forever(std::string_view chunk);
  bool pause(std::chrono::milliseconds how_long);
  // Ends the connection with an RST (SO_LINGER 0), or with a FIN after which the peer's bytes are read until it closes
  // (so that unread bytes never turn the FIN into an RST).
  void reset();
  void finish();

 private:
  bool wait(short events);  // false: stopping, or the socket has an error/hang-up and no data
  int fd_;
  const std::atomic<bool>& stop_;
  std::atomic<std::int64_t>& written_;  // the server's total, for the endless-reply case
};

using Behaviour = std::function<void(Peer&)>;

struct FakeServerOptions {
  // Of the listener, inherited by accepted sockets; 0 = the default. A small receive buffer and segment size keep a
  // client's send buffer small too (Linux sizes it from the peer's MSS, ~64 KiB on loopback), so it fills in a
  // short run once the server stops reading.
  int receive_buffer_bytes = 0;  // SO_RCVBUF
  int max_segment_bytes = 0;     // TCP_MAXSEG
  int max_connections = 512;
};

class FakeServer {
 public:
  explicit FakeServer(Behaviour behaviour, FakeServerOptions options = {});
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_.load(); }
  std::int64_t bytes_written() const { return written_.load(); }

 private:
  void accept_loop();

  Behaviour behaviour_;
  FakeServerOptions options_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<std::int64_t> written_{0};
  std::vector<std::thread> connections_;  // the accept thread's alone until the destructor has joined it
  std::thread acceptor_;
};

}  // namespace tvt::hostile
