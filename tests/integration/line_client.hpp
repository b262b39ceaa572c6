#pragma once
// A line-oriented loopback client for tests that talk to a real server (started with support/server_process.hpp):
// blocking socket, every wait bounded, so a broken server fails a test instead of hanging it.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/socket.hpp"
#include "net/unique_fd.hpp"

namespace tvt::testing {

class Client {
 public:
  explicit Client(std::uint16_t port) : fd_(net::connect_tcp("127.0.0.1", port)) {}

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = net::send_some(fd_.get(), bytes.data(), bytes.size());
      if (n <= 0) throw std::runtime_error("send failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads until `lines` complete lines are buffered (or timeout / EOF); returns and removes them.
  std::vector<std::string> read_lines(std::size_t lines, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (count_lines() < lines && !eof_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fill(static_cast<int>(left.count()))) break;
    }
    std::vector<std::string> out;
    while (out.size() < lines) {
      const auto nl = buffer_.find('\n');
      if (nl == std::string::npos) break;
      out.push_back(buffer_.substr(0, nl));
      buffer_.erase(0, nl + 1);
    }
    return out;
  }

  // Everything that arrives within `quiet` of the last byte (for "nothing more came" checks).
  std::string drain(std::chrono::milliseconds quiet = std::chrono::milliseconds(200)) {
    while (!eof_ && fill(static_cast<int>(quiet.count()))) {
    }
    return std::exchange(buffer_, {});
  }

  // True once the server has closed the connection (reads until EOF, bounded).
  bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (!eof_ && std::chrono::steady_clock::now() < give_up) fill(50);
    return eof_;
  }

  int fd() const { return fd_.get(); }

 private:
  std::size_t count_lines() const { return static_cast<std::size_t>(std::count(buffer_.begin(), buffer_.end(), '\n')); }

  // One poll + recv; false on timeout or EOF.
  bool fill(int timeout_ms) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[64 * 1024];
    const auto n = net::recv_some(fd_.get(), buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  net::UniqueFd fd_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace tvt::testing
