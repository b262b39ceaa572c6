#pragma once
// Parking a fiber on fd readiness, optionally with a deadline and a second "cancel" fd (a stop signal).
//
// Invariants
// - Every source (the fd's edge, the timer, the cancel fd's edge) gets its own Waker; they all funnel into
//   fire(), where an atomic exchange on `fired` lets exactly one of them make the fiber ready.
// - Sources are armed in the after-switch hook, once the fiber's context is saved; an edge that already arrived
//   (Registration::park returns false) fires at once from the hook.
// - After the fiber resumes it withdraws every source (unpark, cancel_timer). Both are exact (the reactor's mutex),
//   so when wait_io returns no wake of this wait is running or will run, and the IoWait on the stack may die.
// - The timer goes to the fd's reactor, so its wake and the fd's wake are serialised on one thread.
#include <optional>

#include "reactor/reactor.hpp"

namespace tvt::fiber::detail {

enum class IoWaitResult { ready, timed_out, cancelled };

// Requires a fiber. `reg` must be registered. Spurious `ready` results are possible: retry the syscall.
IoWaitResult wait_io(reactor::Registration& reg, reactor::Direction dir,
                     std::optional<reactor::Clock::time_point> deadline = std::nullopt,
                     reactor::Registration* cancel_on_readable = nullptr);

}  // namespace tvt::fiber::detail
