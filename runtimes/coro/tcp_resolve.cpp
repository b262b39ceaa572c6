// SocketAddress and name resolution (getaddrinfo; on the blocking pool for the async form).
#include "coro/tcp_resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "coro/spawn_blocking.hpp"

namespace tvt::coro {
namespace {

class ResolveCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "resolve"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};

struct AddrInfoDeleter {
  void operator()(addrinfo* list) const noexcept { ::freeaddrinfo(list); }
};
using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// getaddrinfo for a TCP connection to host:port; the return code is getaddrinfo's (0 = `out` holds the list).
int lookup(const std::string& host, std::uint16_t port, int flags, AddrInfoList& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;  // IPv4 and IPv6, in the order the resolver prefers (RFC 6724)
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
  out.reset(list);
  return rc;
}

// "[::1]" -> "::1": the bracketed form that URLs and host:port strings use for IPv6.
std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

}  // namespace

SocketAddress::SocketAddress(const sockaddr* address, socklen_t size) noexcept
    : size_(size <= sizeof storage_ ? size : sizeof storage_) {
  std::memcpy(&storage_, address, size_);
}

std::uint16_t SocketAddress::port() const noexcept {
  // sin_port and sin6_port sit at the same offset by design, but say which one is meant.
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

std::string SocketAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = "?";
  const bool v6 = family() == AF_INET6;
  const void* ip = v6 ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr)
                      : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr);
  ::inet_ntop(family(), ip, text, sizeof text);
  // Appended piece by piece: g++ 12 at -O3 reports a false -Wrestrict for `"[" + std::string(...)`.
  std::string out;
  if (v6) out += '[';
  out += text;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port());
  return out;
}

std::optional<SocketAddress> SocketAddress::parse_literal(std::string_view host, std::uint16_t port) {
  AddrInfoList list;
  // AI_NUMERICHOST: only parses, never asks a resolver, so this never blocks.
  if (lookup(std::string(strip_brackets(host)), port, AI_NUMERICHOST, list) != 0 || !list) return std::nullopt;
  return SocketAddress(list->ai_addr, list->ai_addrlen);
}

const std::error_category& resolve_category() noexcept {
  static const ResolveCategory category;
  return category;
}

std::vector<SocketAddress> resolve_blocking(const std::string& host, std::uint16_t port) {
  if (auto literal = SocketAddress::parse_literal(host, port)) return {*literal};
  AddrInfoList list;
  const int rc = lookup(host, port, 0, list);
  if (rc == EAI_SYSTEM) throw std::system_error(errno, std::generic_category(), "resolve '" + host + "'");
  if (rc != 0) throw std::system_error(rc, resolve_category(), "resolve '" + host + "'");
  std::vector<SocketAddress> addresses;
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next)
    if (a->ai_family == AF_INET || a->ai_family == AF_INET6) addresses.emplace_back(a->ai_addr, a->ai_addrlen);
  if (addresses.empty())
    throw std::system_error(EAI_NONAME, resolve_category(), "resolve '" + host + "': no IPv4 or IPv6 address");
  return addresses;
}

Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port) {
  if (auto literal = SocketAddress::parse_literal(host, port)) co_return std::vector<SocketAddress>{*literal};
  // Named, not a temporary inside the co_await: g++ 12 destroys a capturing lambda made inside a co_await's operand
  // twice (a double free of `host`; coro_resolve_test caught it).
  auto lookup_job = spawn_blocking([host = std::move(host), port] { return resolve_blocking(host, port); });
  co_return co_await lookup_job;
}

}  // namespace tvt::coro
