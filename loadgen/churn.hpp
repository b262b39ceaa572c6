#pragma once
// `loadgen churn`: connection churn at a fixed rate, and the server's memory, fds, threads and CPU every second — what
// a leak per connection shows in (issue 19). Each connection connects, sends one http GET with `Connection: close`,
// reads the reply to the server's close (the server closes first: its side keeps the TIME_WAIT, so the client's
// ephemeral ports are not used up), checks the status line and closes.
//   loadgen churn --target H:P --rate 1000 --duration 20 --server-pid PID --json F --timeline F
// `--rate 0` churns nothing and only samples (a server under other load). SIGINT/SIGTERM end the churn early; the
// settle, the JSON and the timeline still follow. Prints "churn ready" once the idle sample is taken.
namespace tvt::loadgen {

// Returns the exit code: 0 when the run churned without error and the server stayed readable, 1 otherwise, 2 on bad
// arguments.
int run_churn(int argc, char** argv);

}  // namespace tvt::loadgen
