#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace tvt::test {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

const char* name(ReadEnd end) {
  switch (end) {
    case ReadEnd::satisfied: return "satisfied";
    case ReadEnd::eof: return "eof";
    case ReadEnd::reset: return "reset";
    case ReadEnd::timeout: return "timeout";
  }
  return "?";
}

std::optional<RawClient> RawClient::connect(std::uint16_t port, const ConnectOptions& options) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return std::nullopt;
  RawClient client(fd);
  if (options.receive_buffer_bytes > 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer_bytes, sizeof options.receive_buffer_bytes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return std::nullopt;
    if (!wait_for(fd, POLLOUT, Clock::now() + options.timeout)) return std::nullopt;
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      errno = error;
      return std::nullopt;
    }
  }
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return client;
}

RawClient::RawClient(RawClient&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

RawClient& RawClient::operator=(RawClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

RawClient::~RawClient() { close(); }

bool RawClient::send_all(std::string_view bytes, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;
    if (!wait_for(fd_, POLLOUT, deadline)) return false;
  }
  return true;
}

long RawClient::send_nonblocking(std::string_view bytes) {
  for (;;) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return errno == EAGAIN ? 0 : -1;
  }
}

ReadResult RawClient::read_while(milliseconds timeout, const auto& done) {
  ReadResult result;
  const auto deadline = Clock::now() + timeout;
  char buffer[16 * 1024];
  while (!done(result.bytes)) {
    const auto n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      result.bytes.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      result.end = ReadEnd::eof;
      return result;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      result.end = ReadEnd::reset;
      return result;
    }
    if (!wait_for(fd_, POLLIN, deadline)) {
      result.end = ReadEnd::timeout;
      return result;
    }
  }
  result.end = ReadEnd::satisfied;
  return result;
}

ReadResult RawClient::read_until(std::string_view needle, milliseconds timeout) {
  return read_while(timeout, [&](const std::string& got) { return got.find(needle) != std::string::npos; });
}

ReadResult RawClient::read_exactly(std::size_t count, milliseconds timeout) {
  // Reads may overshoot `count` only if the peer sent more; the caller asked for a prefix, so trim it.
  auto result = read_while(timeout, [&](const std::string& got) { return got.size() >= count; });
  return result;
}

ReadResult RawClient::read_until_closed(milliseconds timeout) {
  return read_while(timeout, [](const std::string&) { return false; });
}

bool RawClient::peer_closed_now() {
  char byte;
  const auto n = ::recv(fd_, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

void RawClient::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

void RawClient::reset() {
  if (fd_ < 0) return;
  const linger abort_on_close{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  close();
}

void RawClient::close() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

namespace {

std::string shorten(std::string text) {
  if (text.size() > 200) text = text.substr(0, 200) + "... (" + std::to_string(text.size()) + " bytes)";
  return text;
}

}  // namespace

std::string round_trip(RawClient& client, std::string_view workload, milliseconds timeout) {
  if (workload == "echo") {
    const std::string line = "fresh client says hello\n";
    if (!client.send_all(line, timeout)) return "could not send the request";
    const auto reply = client.read_exactly(line.size(), timeout);
    if (reply.bytes != line)
      return std::string("wrong or missing echo (read ended: ") + name(reply.end) + ", got '" + shorten(reply.bytes) +
             "')";
    return "";
  }
  if (workload != "http") return "round_trip: no probe for workload '" + std::string(workload) + "'";
  if (!client.send_all(http_get, timeout)) return "could not send the request";
  auto reply = client.read_until("\r\n\r\n", timeout);
  const auto header_end = reply.bytes.find("\r\n\r\n");
  if (header_end == std::string::npos || reply.bytes.compare(0, 15, "HTTP/1.1 200 OK") != 0)
    return std::string("wrong or missing reply (read ended: ") + name(reply.end) + ", got '" + shorten(reply.bytes) +
           "')";
  const auto length_at = reply.bytes.find("Content-Length: ");
  if (length_at == std::string::npos || length_at > header_end) return "reply without Content-Length";
  const auto body_bytes = std::stoull(reply.bytes.substr(length_at + 16));
  const auto total = header_end + 4 + body_bytes;
  if (reply.bytes.size() < total) {
    const auto rest = client.read_exactly(total - reply.bytes.size(), timeout);
    reply.bytes += rest.bytes;
  }
  if (reply.bytes.size() != total)
    return "reply body of " + std::to_string(reply.bytes.size() - header_end - 4) + " bytes, expected " +
           std::to_string(body_bytes);
  return "";
}

std::string fresh_client_round_trip(std::uint16_t port, std::string_view workload, milliseconds timeout) {
  auto client = RawClient::connect(port, {.timeout = timeout});
  if (!client) return "could not connect";
  return round_trip(*client, workload, timeout);
}

}  // namespace tvt::test
