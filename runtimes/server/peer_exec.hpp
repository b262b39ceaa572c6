#pragma once
// Peers (runtimes/peers/): a back end written in another language is its own executable beside `server`. The server
// replaces itself with it (execv, same pid, same arguments), so the pid in `ready port=<p> pid=<pid>` that loadgen
// samples is the peer's, and every option is parsed by the peer itself.
#include <string>

#include "server/registry.hpp"

namespace tvt::server {

// The peer's executable: `entry.executable` in the folder of the running server executable.
std::string peer_path(const BackendEntry& entry);

// True if the peer's executable exists and may be run. A peer whose build did not produce it is not listed.
bool peer_available(const BackendEntry& entry);

// Replaces this process with the peer, argv unchanged but argv[0]. Returns only on failure (errno says why).
void exec_peer(const BackendEntry& entry, char** argv);

}  // namespace tvt::server
