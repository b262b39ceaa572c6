#pragma once
// The coordinator of a run: samples the server and the machine before any connection, waits until every engine
// thread (or worker process) is connected, says go, samples every second of the measured window, waits for the
// server's fds to return to idle after the connections close, then writes the JSON record, the timeline, the
// HdrHistogram log and the human summary.
#include <atomic>

#include "loadgen/capacity.hpp"
#include "loadgen/driver.hpp"

namespace tvt::loadgen {

// Returns the process exit code: 0 ok or degraded, 1 failed.
int run_coordinator(const EngineConfig& config, const CapacityPlan& plan, Driver& driver,
                    const std::atomic<bool>& stop_requested);

}  // namespace tvt::loadgen
