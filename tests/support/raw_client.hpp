#pragma once
// A raw TCP client for hostile-input tests: every read and write has a timeout, and the tests choose exactly how the
// connection ends (FIN, half-close, or RST via SO_LINGER 0). Blocking socket, waits done with poll.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tvt::test {

using std::chrono::milliseconds;

struct ConnectOptions {
  int receive_buffer_bytes = 0;  // SO_RCVBUF before connect (a slow reader's small window); 0 = default
  milliseconds timeout{3000};
};

// How a read that waited for the peer ended.
enum class ReadEnd {
  satisfied,  // got what was asked for
  eof,        // the peer closed (FIN)
  reset,      // ECONNRESET / EPIPE
  timeout,
};
const char* name(ReadEnd end);

struct ReadResult {
  std::string bytes;
  ReadEnd end = ReadEnd::timeout;
};

class RawClient {
 public:
  // Connects to 127.0.0.1:port; nullopt (errno kept) if the connection could not be made in time.
  static std::optional<RawClient> connect(std::uint16_t port, const ConnectOptions& options = {});

  RawClient(RawClient&& other) noexcept;
  RawClient& operator=(RawClient&& other) noexcept;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient();

  int fd() const { return fd_; }

  // Sends everything or fails (peer gone, or no progress for `timeout`).
  bool send_all(std::string_view bytes, milliseconds timeout = milliseconds(3000));
  // One non-blocking send: bytes accepted (0 if the socket buffer is full), -1 if the peer is gone.
  long send_nonblocking(std::string_view bytes);

  // Reads until `needle` has arrived (returning everything read, which may extend past it).
  ReadResult read_until(std::string_view needle, milliseconds timeout);
  // Reads exactly `count` bytes.
  ReadResult read_exactly(std::size_t count, milliseconds timeout);
  // Reads whatever arrives until the peer closes, or the timeout. `end` is eof or reset if the peer closed.
  ReadResult read_until_closed(milliseconds timeout);
  // True if the peer has closed (FIN or RST) without sending anything else; does not wait.
  bool peer_closed_now();

  void shutdown_write();
  // close() that sends RST instead of FIN, with whatever is unsent or unread discarded.
  void reset();
  void close();

 private:
  explicit RawClient(int fd) : fd_(fd) {}
  ReadResult read_while(milliseconds timeout, const auto& done);
  int fd_ = -1;
};

// A complete keep-alive GET request, and the reply the default server sends to it.
inline constexpr std::string_view http_get = "GET / HTTP/1.1\r\nHost: tvt\r\n\r\n";
inline constexpr std::string_view http_ok_reply =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

// One request and its whole reply on a new connection ("a fresh client is served"): for "http" a GET answered with
// the default 200 reply, for "echo" a line echoed back. Returns "" on success, else what went wrong.
std::string fresh_client_round_trip(std::uint16_t port, std::string_view workload,
                                    milliseconds timeout = milliseconds(3000));
// The same on an existing connection.
std::string round_trip(RawClient& client, std::string_view workload, milliseconds timeout = milliseconds(3000));

}  // namespace tvt::test
