#pragma once
// What every engine thread of a process reads and nobody changes during a run: the options and resolved targets.
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/options.hpp"

namespace tvt::loadgen {

struct Target {
  sockaddr_in address{};
  std::string text;  // as given, HOST:PORT
};

// Immutable for the whole run; shared by every engine thread of a process.
struct EngineConfig {
  Options options;
  std::vector<Target> targets;
  std::uint32_t total_connections = 0;   // all processes together (slots are numbered 0..total-1)
  std::uint32_t source_addresses = 0;    // 0: let the kernel pick the source; k: bind 127.0.0.(1 + slot's share)
  std::uint32_t slots_per_source = 0;    // per target, per source address
};

}  // namespace tvt::loadgen
