#pragma once
// System calls, context switches and waits of the server over exactly the measured window, counted by the kernel's
// software events through `perf stat` (hardware counters are not needed, and are not available in every VM):
//   raw_syscalls:sys_enter   every system call entry
//   context-switches         every switch away from one of the server's threads
//   raw_syscalls:sys_enter filtered to the waiting calls (epoll_wait, epoll_pwait, epoll_pwait2, io_uring_enter,
//                            poll, ppoll, select, pselect6, by this architecture's numbers): how often the server
//                            asks the kernel for more work
// perf attaches to the server's threads (`-p PID`) with its counters disabled (`-D -1`) before the first connection,
// and is told to enable and disable them at the window's edges over a control pipe (`--control fd:`), acknowledged.
// perf's counters are inherited: a thread the server creates after perf attached (a thread per connection) is
// counted too (checked here: 5 threads created 1 s after attaching, 20,000 getppid() each, counted 100,164 syscalls).
// Anything that does not work (perf missing, not permitted, the server gone) leaves the counts empty with the reason.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tvt::loadgen {

struct PerfCounts {
  std::int64_t syscalls = -1;
  std::int64_t context_switches = -1;
  std::int64_t waits = -1;
};

// Parses `perf stat -x,` output (one CSV line per event: value,unit,event,...); nullopt unless all three are there.
std::optional<PerfCounts> parse_perf_stat_csv(std::string_view text);

class PerfCounter {
 public:
  PerfCounter() = default;
  PerfCounter(const PerfCounter&) = delete;
  PerfCounter& operator=(const PerfCounter&) = delete;
  ~PerfCounter();

  // Starts perf on `pid` with its counters off and waits (up to `timeout_ns`) until it is attached.
  bool start(int pid, const std::string& perf_path, std::int64_t timeout_ns);
  bool enable() { return command("enable"); }
  bool disable() { return command("disable"); }
  // Stops perf and reads its counts; nullopt (reason in error()) if any step failed.
  std::optional<PerfCounts> finish();
  const std::string& error() const { return error_; }

 private:
  bool command(std::string_view what);
  bool wait_ack(std::int64_t timeout_ns);
  void stop_child();

  pid_t child_ = -1;
  int control_ = -1, ack_ = -1;
  std::string output_path_;
  std::string error_;
};

}  // namespace tvt::loadgen
