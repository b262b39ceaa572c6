#include "server/peer_exec.hpp"

#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace tvt::server {

std::string peer_path(const BackendEntry& entry) {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  const auto dir = error ? std::filesystem::path(".") : self.parent_path();
  return (dir / std::string(entry.executable)).string();
}

bool peer_available(const BackendEntry& entry) {
  return entry.is_peer() && ::access(peer_path(entry).c_str(), X_OK) == 0;
}

void exec_peer(const BackendEntry& entry, char** argv) {
  const auto path = peer_path(entry);
  argv[0] = const_cast<char*>(path.c_str());  // execv does not modify argv; it only wants the C signature
  ::execv(path.c_str(), argv);
}

}  // namespace tvt::server
