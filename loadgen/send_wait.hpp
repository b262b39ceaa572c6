#pragma once
// How long an engine thread may block in epoll before its next scheduled send (open loop, chat).
//
// Blocking until exactly the due time is not enough: a thread that blocks gives its core back, and an idle core takes
// time to run it again when the timer (or a reply's interrupt) fires; on a KVM guest with no cpuidle driver (this
// machine) the idle vCPU halts and the wake-up costs tens of µs (bench/reference/README.md has the measurement). The
// send would leave that late, and a reply arriving while the thread slept would be timestamped that late: both inside
// the measured latency. So within `spin_ns` of the next due the thread polls epoll without blocking (it spins), and
// blocks only until `spin_ns` before it. spin_ns = 0 blocks to the due time itself.
#include <cstdint>

namespace tvt::loadgen {

// The epoll timeout at `now_ns`, in ns (0: poll, do not block): until the earlier of `wake_ns` (any other wake-up:
// timers that are not sends, scans, phase edges) and `spin_ns` before `next_send_ns` (ArrivalSchedule::never or any
// time past wake_ns: no send to keep).
std::int64_t wait_timeout_ns(std::int64_t now_ns, std::int64_t wake_ns, std::int64_t next_send_ns, std::int64_t spin_ns);

// The spin window an engine thread uses for --spin-us: none when the process's engine threads (`engine_threads`; a
// worker process does not know its siblings and passes 0) outnumber the CPUs it may run on, because spinning threads
// that share a core take it from each other for whole scheduler slices, far later than any wake-up.
std::int64_t spin_window_ns(double spin_us, std::uint32_t engine_threads, int cpus_allowed);

}  // namespace tvt::loadgen
