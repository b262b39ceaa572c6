#pragma once
// `loadgen probe`: the server-side half of a fleet run (issue 14). It runs on the server's host, where /proc shows the
// server, and samples what the single-host coordinator samples (user and kernel memory, fds, sockets, threads, CPU)
// before any connection, every second of the measured window and after the connections closed. It writes the raw
// values, before and during; the fleet's merge divides by the connections the ranks established (only they know).
//   loadgen probe --server-pid PID [--server-pid PID2] --start-at T --warmup W --duration D --json F --timeline F
namespace tvt::loadgen {

// Returns the exit code: 0 when every server stayed readable, 1 when one vanished, 2 on bad arguments.
int run_probe(int argc, char** argv);

}  // namespace tvt::loadgen
