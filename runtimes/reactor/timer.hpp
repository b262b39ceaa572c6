#pragma once
// A timer entry for the reactor's timer heap, embedded in whoever waits (a sleeping task's awaiter, a fiber):
// no allocation per timer. The reactor keeps a pointer to it from add_timer until it fires or is cancelled.
//
// Invariants: `heap_index_` is written only by the reactor under its mutex; `npos` means "not in the heap" (never
// added, fired, or cancelled). The entry must stay alive and unmoved while it is in the heap.
#include <chrono>
#include <cstddef>

#include "reactor/waker.hpp"

namespace tvt::reactor {

using Clock = std::chrono::steady_clock;

class TimerEntry {
 public:
  TimerEntry() = default;
  TimerEntry(const TimerEntry&) = delete;
  TimerEntry& operator=(const TimerEntry&) = delete;

  Clock::time_point deadline() const { return deadline_; }

 private:
  friend class Reactor;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  Clock::time_point deadline_{};
  Waker* waker_ = nullptr;
  std::size_t heap_index_ = npos;
  unsigned long long sequence_ = 0;  // FIFO among equal deadlines
};

}  // namespace tvt::reactor
