#include "fake_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tvt::hostile {
namespace {
constexpr int poll_step_ms = 20;  // how soon a wait notices that the server stops
constexpr std::size_t max_request_bytes = 64 * 1024;
}  // namespace

Peer::~Peer() {
  if (fd_ >= 0) ::close(fd_);
}

bool Peer::wait(short events) {
  while (!stop_.load()) {
    pollfd p{fd_, events, 0};
    const int n = ::poll(&p, 1, poll_step_ms);
    if (n > 0) return (p.revents & events) != 0 || (p.revents & (POLLERR | POLLHUP)) == 0;
    if (n < 0 && errno != EINTR) return false;
  }
  return false;
}

bool Peer::read_request(std::string_view delimiter, std::string* request) {
  std::string got;
  char buffer[4096];
  while (got.find(delimiter) == std::string::npos) {
    if (got.size() > max_request_bytes || !wait(POLLIN)) return false;
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  if (request != nullptr) *request = std::move(got);
  return true;
}

void Peer::discard_until_gone() {
  char buffer[4096];
  while (wait(POLLIN) && ::recv(fd_, buffer, sizeof buffer, 0) > 0) {
  }
}

bool Peer::write(std::string_view bytes) {
  while (!bytes.empty()) {
    if (!wait(POLLOUT)) return false;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    written_.fetch_add(n);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Peer::write_forever(std::string_view chunk) {
  while (write(chunk)) {
  }
}

bool Peer::pause(std::chrono::milliseconds how_long) {
  const auto until = std::chrono::steady_clock::now() + how_long;
  while (std::chrono::steady_clock::now() < until) {
    if (stop_.load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_step_ms));
  }
  return !stop_.load();
}

void Peer::reset() {
  const linger hard{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd_);
  fd_ = -1;
}

void Peer::finish() {
  ::shutdown(fd_, SHUT_WR);
  discard_until_gone();
}

FakeServer::FakeServer(Behaviour behaviour, FakeServerOptions options)
    : behaviour_(std::move(behaviour)), options_(options) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const int receive_buffer = options_.receive_buffer_bytes;
  if (receive_buffer > 0) ::setsockopt(listener_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  const int segment = options_.max_segment_bytes;
  if (segment > 0) ::setsockopt(listener_, IPPROTO_TCP, TCP_MAXSEG, &segment, sizeof segment);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 128) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = std::strerror(errno);
    ::close(listener_);
    throw std::runtime_error("listen on 127.0.0.1: " + error);
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeServer::~FakeServer() {
  stop_.store(true);
  acceptor_.join();
  // The acceptor has ended: nobody adds to connections_ any more.
  for (auto& t : connections_) t.join();
}

void FakeServer::accept_loop() {
  while (!stop_.load()) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, poll_step_ms) <= 0) continue;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (accepted_.fetch_add(1) >= options_.max_connections) {
      ::close(fd);
      continue;
    }
    connections_.emplace_back([this, fd] {
      Peer peer(fd, stop_, written_);
      behaviour_(peer);
    });
  }
  ::close(listener_);
}

}  // namespace tvt::hostile
