#include "server/registry.hpp"

#include <algorithm>

#include "server/registered_backends.hpp"

namespace tvt::server {

std::span<const BackendEntry> backends() { return registered_backends; }

const BackendEntry* find_backend(std::string_view name) {
  const auto it = std::find_if(registered_backends.begin(), registered_backends.end(),
                               [&](const auto& e) { return e.name == name; });
  return it == registered_backends.end() ? nullptr : &*it;
}

}  // namespace tvt::server
