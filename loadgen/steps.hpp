#pragma once
// Stepped idle (issue 21, the c1m profile): `--mode idle --steps 100000,250000,...` grows the held connections to
// each count in turn instead of starting from zero for each: step k opens slots [step k-1, step k) with engine threads
// (or worker processes) of its own, ramped at --ramp-rate, each connection verified with one request; the steps before
// it stay open. After each step's --hold (the server and machine sampled once a second, the last sample kept) one
// JSON record is appended to the --json file (JSON Lines, rewritten atomically): the idle record's keys, with the
// connections and the per-connection memory counted from before the first step, so step k's row is what a fresh run
// of `step k` connections would report. Stepping stops at the first step not held whole. With --step-gate, each step
// after the first waits for SIGUSR1: the caller checks memory between steps. SIGUSR2 cuts the current step's connecting
// short. SIGINT/SIGTERM end it; every connection is closed on return.
#include <atomic>
#include <string>
#include <vector>

#include "loadgen/capacity.hpp"
#include "loadgen/engine_config.hpp"

namespace tvt::loadgen {

// `argv`: this process's command line, for the worker processes. Returns the exit code: 0 ok or degraded, 1 failed.
// `cut_off_requested` (SIGUSR2): end the current step's connecting now, keeping what is verified (the caller knows
// the server can take no more, e.g. its pids cgroup is full); the step is then recorded as usual.
int run_steps(const EngineConfig& config, const CapacityPlan& plan, const std::vector<std::string>& argv,
              const std::atomic<bool>& stop_requested, std::atomic<bool>& cut_off_requested);

}  // namespace tvt::loadgen
