#pragma once
// Before a run: can this machine hold N connections, and how must they be spread to do so? Raises this process's
// open-file limit to its hard limit, splits the connections over worker processes when one process's fds cannot hold
// them, spreads them over source addresses when one (source, destination) pair would run out of ephemeral ports, and
// names every limit that will cap the run (the server's open files, the port range, pid_max for a thread per
// connection) before anything starts.
#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/options.hpp"

namespace tvt::loadgen {

struct CapacityPlan {
  std::uint32_t processes = 1;           // worker processes (1: everything runs in this process)
  std::uint32_t per_process_budget = 0;  // connections one process may hold
  std::uint32_t source_addresses = 0;    // 0: no explicit source binding
  std::uint32_t slots_per_source = 0;
  std::vector<std::string> warnings;     // "cannot hold N: ..." lines, said before the run and kept for `reason`
};

// `loopback_targets`: every target is in 127.0.0.0/8 (only then can we pick other 127.x source addresses).
CapacityPlan plan_capacity(const Options& options, bool loopback_targets);

}  // namespace tvt::loadgen
