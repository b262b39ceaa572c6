#pragma once
// Per-fd readiness state for an edge-triggered reactor, embedded in the object that owns the fd (a socket, a
// coroutine frame, a fiber's stream): no allocation per fd.
//
// Invariants
// - Each direction (read, write) has one slot, an atomic word in one of three states:
//     empty   no edge has arrived since the slot was last consumed, nobody parked
//     ready   an edge arrived while nobody was parked (sticky until a parker consumes it)
//     Waker*  one parked waiter (pointer to a Waker owned by the parker, valid until it is woken or unparked)
// - At most one waiter per direction at a time (one reader and one writer per fd, as with any stream).
// - Only the reactor turns a Waker* into empty (a wake) and empty into ready; only a parker turns empty into Waker*
//   (park), ready into empty (consume) and, under the reactor's mutex, its own Waker* back into empty (unpark).
//
// The "check readiness or park" protocol (why no edge is lost). ET epoll reports a transition once; if it arrives
// between the moment an operation fails with EAGAIN and the moment the caller parks, nobody will report it again.
//   1. try the syscall; on success, done (readiness that may remain is not tracked: the next call tries first too)
//   2. on EAGAIN: park(dir, waker). park CASes empty -> Waker*. If the slot was `ready`, an edge arrived after the
//      last consume -- possibly after our failed syscall -- so park consumes it (ready -> empty), returns false and
//      the caller goes back to 1. Otherwise the waiter is parked and the reactor's next edge wakes it (Waker* ->
//      empty, so the wake itself consumes that edge), and the caller goes back to 1.
// Every edge thus either finds a parked waiter (wakes it) or leaves `ready` behind for the next park to see. The
// cost of staleness is at most one extra EAGAIN syscall, never a lost wake-up.
// A caller may also park without a failed syscall (after a short read, to save the recv that would say EAGAIN);
// that is safe for data because new bytes bring a new edge, and for the peer's FIN because the reactor records it
// (`read_closed_`) and park(read) then refuses to park.
#include <atomic>
#include <cstdint>

#include "reactor/waker.hpp"

namespace tvt::reactor {

class Reactor;

enum class Direction : unsigned { read = 0, write = 1 };

class Registration {
 public:
  Registration() = default;
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration();  // deregisters if still registered

  // Called after the syscall for `dir` failed with EAGAIN. Returns true if `waker` is now parked (it will be woken
  // once, on the next edge, unless unpark() withdraws it first), false if an edge arrived meanwhile: retry the call.
  // Parking a waker that is still parked (the owner ran for another reason) is a no-op that returns true.
  bool park(Direction dir, Waker& waker) {
    // The peer's FIN (or an error) may have come in the same edge as the last bytes: a short read takes the bytes and
    // leaves the FIN unreported, and no further edge will come. Once the reactor has seen it, a read never parks
    // (the retried read returns 0 or the error at once). acquire pairs with the reactor's release.
    if (dir == Direction::read && read_closed_.load(std::memory_order_acquire)) return false;
    auto& slot = slots_[static_cast<unsigned>(dir)];
    std::uintptr_t expected = empty;
    // acq_rel: release publishes the Waker's fields to the reactor thread that will call it; acquire pairs with the
    // reactor's release when the slot was `ready` (not strictly needed -- the retried syscall syncs with the kernel).
    if (slot.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(&waker), std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      return true;
    if (expected == reinterpret_cast<std::uintptr_t>(&waker)) return true;  // still parked (a spurious wake-up)
    // `ready`: consume the edge and retry. A concurrent reactor can only turn empty into ready, never undo this.
    slot.store(empty, std::memory_order_relaxed);  // relaxed: the slot carries no data, the retry syncs via the kernel
    return false;
  }

  // Withdraws a parked `waker` (timeout, cancellation). True if withdrawn; false if the reactor woke it first, in
  // which case that wake has *finished* when this returns (wakes run under the reactor's mutex, and so does this).
  bool unpark(Direction dir, Waker& waker);

  // True if the slot holds a parked waiter (tests, assertions).
  bool has_waiter(Direction dir) const {
    const auto s = slots_[static_cast<unsigned>(dir)].load(std::memory_order_acquire);
    return s != empty && s != ready;
  }

  int fd() const { return fd_; }
  Reactor* reactor() const { return reactor_; }
  bool registered() const { return reactor_ != nullptr; }

 private:
  friend class Reactor;
  static constexpr std::uintptr_t empty = 0;
  static constexpr std::uintptr_t ready = 1;

  // Reactor side, under the reactor's mutex: an edge for `dir`. Wakes the parked waiter (returns true) or leaves
  // `ready` behind (returns false).
  bool on_edge(Direction dir) {
    auto& slot = slots_[static_cast<unsigned>(dir)];
    std::uintptr_t current = slot.load(std::memory_order_acquire);
    for (;;) {
      if (current == ready) return false;
      const std::uintptr_t next = current == empty ? ready : empty;
      // acq_rel: acquire the parker's Waker fields; release so a parker that later sees `ready` sees it after the edge.
      if (slot.compare_exchange_weak(current, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
        if (current == empty) return false;
        reinterpret_cast<Waker*>(current)->wake();
        return true;
      }
    }
  }

  // Reactor side: the peer shut down its writing half, or the socket failed (EPOLLRDHUP/HUP/ERR). Sticky.
  void on_read_closed() { read_closed_.store(true, std::memory_order_release); }

  Reactor* reactor_ = nullptr;  // set by Reactor::add, cleared by Reactor::remove
  int fd_ = -1;
  std::atomic<std::uintptr_t> slots_[2] = {empty, empty};
  std::atomic<bool> read_closed_{false};  // reads will not block again (see park)
};

}  // namespace tvt::reactor
