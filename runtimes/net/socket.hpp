#pragma once
// Socket set-up shared by every back end and the tests: listening, connecting, socket options. Errors throw
// std::system_error with the call that failed, because they happen at start-up where a clear message is the point.
#include <cstdint>
#include <string>

#include "net/unique_fd.hpp"

namespace tvt::net {

// A listening TCP socket on `host:port` (port 0 = the kernel picks one), SO_REUSEADDR, the largest backlog the
// kernel allows (a connect storm of 20,000 must not overflow it). `reuse_port`: SO_REUSEPORT too, so several
// sockets (server --shards) listen on one port and the kernel spreads the connections over them.
UniqueFd listen_tcp(const std::string& host, std::uint16_t port, bool reuse_port = false);

// The port a bound socket ended up with.
std::uint16_t local_port(int fd);

// A blocking TCP connection to host:port (tests and examples).
UniqueFd connect_tcp(const std::string& host, std::uint16_t port);

void set_nonblocking(int fd);
void set_nodelay(int fd);

// recv/send that retry EINTR; send never raises SIGPIPE. Return what the syscall returned (-1 with errno set).
long recv_some(int fd, char* data, std::size_t size);
long send_some(int fd, const char* data, std::size_t size);

}  // namespace tvt::net
