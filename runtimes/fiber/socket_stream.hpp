#pragma once
// A fiber's TcpStream as a blocking::BlockingStream (and ChatStream), so that the fiber back ends run the very
// connection loops the threads back end runs (blocking/serve_connection.hpp, blocking/serve_chat.hpp).
//
// Memory: an idle connection's fiber owns no buffer. read() receives into its worker's scratch buffer and out() is
// its worker's scratch string; both are valid only until the fiber's next switch, which is enough for
// serve_connection (it consumes and answers without parking in between). flush() sends straight from the scratch
// string; if the socket is full it first copies what is left into the connection's own `pending_` and then parks,
// so no other fiber can see or clobber it, and frees `pending_` once sent. So the worker's out scratch is empty
// whenever any fiber switches.
// Buffers::per_connection is for loops that park between reading and using the bytes, or while holding out()
// (chat: the reader may wait on a hub mutex while it still holds the line it read; compute with --offload parks in
// spawn_blocking inside consume): the connection then reads into, and replies from, storage of its own.
//
// Thread-safety: read() and flush() may run concurrently in two fibers (a socket is full duplex).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "blocking/blocking_stream.hpp"
#include "fiber/tcp.hpp"

namespace tvt::fiber {

class SocketStream {
 public:
  enum class Buffers { per_worker, per_connection };

  // `idle_timeout` > 0: a read, or a send to a peer that does not read, waiting longer ends the connection.
  SocketStream(TcpStream& stream, std::chrono::milliseconds idle_timeout, Buffers buffers = Buffers::per_worker);

  std::string_view read();
  std::string& out();
  bool flush();
  void shutdown() { stream_->shutdown(); }

  static constexpr std::size_t connection_read_bytes = 4096;

 private:
  std::optional<reactor::Clock::time_point> deadline() const;

  TcpStream* stream_;
  std::chrono::milliseconds idle_timeout_;
  std::unique_ptr<char[]> own_read_buffer_;  // Buffers::per_connection only
  bool own_out_ = false;                     // Buffers::per_connection: out() is `pending_` itself
  bool maybe_readable_ = true;               // false after a recv drained the socket (short read or EAGAIN)
  std::string pending_;  // per_worker: unsent output while flush() is parked, empty (no heap) otherwise
};
static_assert(blocking::BlockingStream<SocketStream>);

}  // namespace tvt::fiber
