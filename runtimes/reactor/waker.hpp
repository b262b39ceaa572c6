#pragma once
// A type-erased, allocation-free wake callback: what a parked unit of work (a coroutine task, a fiber) leaves behind
// so that the reactor can make it runnable again. Two words, owned by whoever parks, never copied by the reactor: the
// reactor stores a pointer to it while the owner is parked.
//
// Contract for `wake_fn`: it runs on the reactor's thread with the reactor's internal mutex held, so it must be short
// and must not call back into the reactor (register, deregister, unpark, add_timer, cancel_timer) — it schedules the
// work (push to a run queue, Reactor::notify() another reactor) and returns. Every parker must tolerate spurious
// wakes: a wake means "worth trying again", never "the operation will succeed".
namespace tvt::reactor {

struct Waker {
  void (*wake_fn)(void* context) = nullptr;
  void* context = nullptr;

  void wake() const { wake_fn(context); }
};

}  // namespace tvt::reactor
