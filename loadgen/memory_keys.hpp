#pragma once
// The per-connection memory keys of a record (docs/CONTRACTS.md): the server tree's RSS, PSS and page tables, and the
// machine's kernel memory (stacks, page tables, unreclaimable slab, TCP buffers), each as (now - before) over the
// connections held. One place, so a load run's record and a stepped idle run's records (steps.hpp) agree.
#include <cstdint>

#include "loadgen/json_record.hpp"
#include "loadgen/probe.hpp"

namespace tvt::loadgen {

void add_memory_per_conn(JsonRecord& json, const ServerSample& server_before, const MachineSample& machine_before,
                         const ServerSample& server_now, const MachineSample& machine_now, std::int64_t connections);

}  // namespace tvt::loadgen
