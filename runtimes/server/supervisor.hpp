#pragma once
// server --shards N: N processes of the same back end on one port. The supervisor opens N listening sockets with
// SO_REUSEPORT on one port (the kernel spreads new connections over them by a hash of the 4-tuple), starts one shard
// per socket (this executable again, the socket as fd 3 and `--listen-fd 3` appended to the same argv), waits for
// every shard's ready line, then prints the one `ready port=<p> pid=<supervisor pid>` line. SIGINT/SIGTERM are
// forwarded to every shard; a shard that dies on its own is reported on stderr, the others are stopped and the
// supervisor exits non-zero. Why processes: one process may hold 20,000 descriptors here (a hard limit), so a
// million connections need about fifty of them.
#include <cstdint>
#include <string>

namespace tvt::server {

// Returns the supervisor's exit code: 0 after a clean forwarded stop, 1 when a shard failed to start or died.
// Must be called before this process has any other thread (it forks).
int run_supervisor(char** argv, unsigned shards, const std::string& host, std::uint16_t port);

}  // namespace tvt::server
