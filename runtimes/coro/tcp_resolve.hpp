#pragma once
// Name resolution for TcpStream::connect, as async-std does it: a host name goes to the system resolver
// (getaddrinfo: /etc/hosts, then DNS, as nsswitch.conf says), which blocks -- a DNS query can take seconds -- so the
// async form runs it on the blocking pool (spawn_blocking) and the event loop keeps running. A numeric literal
// ("127.0.0.1", "::1", "[::1]", "fe80::1%lo") is parsed at once, with no job and no lookup.
// A name that does not resolve throws std::system_error in resolve_category(), e.g.
// "resolve 'nosuch.invalid': Name or service not known".
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "coro/task.hpp"

namespace tvt::coro {

// One IPv4 or IPv6 socket address (what getaddrinfo returns, with the port set).
class SocketAddress {
 public:
  SocketAddress(const sockaddr* address, socklen_t size) noexcept;

  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return size_; }
  int family() const noexcept { return storage_.ss_family; }
  std::uint16_t port() const noexcept;
  // "127.0.0.1:80", "[::1]:80".
  std::string to_string() const;

  // A numeric host (brackets allowed around IPv6), or nullopt if `host` is a name. Never blocks.
  static std::optional<SocketAddress> parse_literal(std::string_view host, std::uint16_t port);

 private:
  sockaddr_storage storage_{};
  socklen_t size_ = 0;
};

// The category of getaddrinfo's EAI_* codes (messages from gai_strerror).
const std::error_category& resolve_category() noexcept;

// Every address of host:port, in the resolver's order (try them in turn). Blocks for names: call it where blocking
// is fine (a plain thread, the blocking pool), or use resolve().
std::vector<SocketAddress> resolve_blocking(const std::string& host, std::uint16_t port);

// The same without blocking the task's thread: literals at once, names on the blocking pool.
Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port);

}  // namespace tvt::coro
