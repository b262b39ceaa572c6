#pragma once
// CPU time consumed by a process, at nanosecond resolution, for the server and for loadgen itself.
//
// The process's CPU-time clock (clock_getcpuclockid) is the kernel's sum of sum_exec_runtime over the live threads
// plus what the exited threads left in signal->sum_sched_runtime: threads that ended during the window (a thread per
// connection closing) are counted exactly, where a sum over /proc/PID/task/*/schedstat would lose them and
// /proc/PID/stat's utime+stime has only clock-tick (10 ms) resolution. Any process's clock is readable by any
// other on Linux (no ptrace permission needed). When the server runs in a cgroup of its own, that cgroup's
// cpuacct.usage (ns, every task of the cgroup, children included) is read instead.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace tvt::loadgen {

// CPU time of every thread `pid` has had, in ns; nullopt when the process is gone.
std::optional<std::int64_t> process_cpu_ns(pid_t pid);
// `dir`/cpuacct.usage (cgroup v1) or `dir`/cpu.stat usage_usec (cgroup v2), in ns.
std::optional<std::int64_t> cgroup_cpu_ns(const std::string& dir);
// How many CPUs `pid` may run on (its affinity mask); nullopt when unreadable.
std::optional<int> cpus_allowed(pid_t pid);

}  // namespace tvt::loadgen
