#pragma once
// Model "raw-context": the floor for stackful units. Boost.Context `fiber`s with pooled 16 KiB stacks on a one-thread
// FIFO of ready units: what a stackful switch and a stack cost when the scheduler is the least it can be (no guard
// page, no cross-thread queue, no I/O). Not a runtime; exceptions terminate.
//
// Invariants (one thread): the scheduler loop owns every suspended unit's `fiber` handle; a running unit holds the
// scheduler's continuation in `Scheduler::back_` and switches to it to suspend. A unit is "ready" (in the intrusive
// FIFO), "parked" (linked from exactly one Baton, Gate or JoinSet), or running; never two at once. A finished unit's
// fiber returns to the scheduler, which frees the Unit and tells its JoinSet.
#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <cstddef>
#include <exception>
#include <memory>
#include <string_view>
#include <utility>

namespace tvt::micro {

struct RawContextModel {
  static constexpr std::string_view name = "raw-context";
  static constexpr std::size_t stack_bytes = 16 * 1024;
  static constexpr std::size_t max_parked_units = 100'000;   // 1,000,000 would touch ~4 GB of stack pages
  static constexpr std::size_t max_skynet_leaves = 100'000;  // 111,111 stacks alive at once
  static constexpr bool supports_cross_thread = false;

  class JoinSet;

  struct Unit {
    Unit* next = nullptr;
    boost::context::fiber context;
    JoinSet* join_set = nullptr;
  };

  class Scheduler {
   public:
    Scheduler() : stacks_(stack_bytes) {}

    void push(Unit* unit) {
      unit->next = nullptr;
      if (tail_ != nullptr) tail_->next = unit;
      else head_ = unit;
      tail_ = unit;
    }
    void run();
    // Called by the running unit: switch to the scheduler; returns when someone made this unit ready again.
    void suspend() { back_ = std::move(back_).resume(); }
    Unit* running() const { return running_; }

    template <class F>
    Unit* make_unit(F&& fn, JoinSet* join_set) {
      auto* unit = new Unit;
      unit->join_set = join_set;
      unit->context = boost::context::fiber(std::allocator_arg, stacks_,
                                            [this, fn = std::forward<F>(fn)](boost::context::fiber&& sink) mutable {
                                              back_ = std::move(sink);
                                              fn();
                                              return std::move(back_);
                                            });
      return unit;
    }

    static Scheduler*& current() {
      static thread_local Scheduler* scheduler = nullptr;
      return scheduler;
    }

   private:
    boost::context::pooled_fixedsize_stack stacks_;
    Unit* head_ = nullptr;
    Unit* tail_ = nullptr;
    Unit* running_ = nullptr;
    boost::context::fiber back_;  // the scheduler's continuation, held by whichever unit runs
  };

  class JoinSet {
   public:
    template <class F>
    void spawn(F&& fn) {
      ++outstanding_;
      Scheduler* scheduler = Scheduler::current();
      scheduler->push(scheduler->make_unit(std::forward<F>(fn), this));
    }
    void join_all() {
      if (outstanding_ == 0) return;
      Scheduler* scheduler = Scheduler::current();
      joiner_ = scheduler->running();
      scheduler->suspend();
    }
    void child_done() {
      if (--outstanding_ == 0 && joiner_ != nullptr) Scheduler::current()->push(std::exchange(joiner_, nullptr));
    }

   private:
    std::size_t outstanding_ = 0;
    Unit* joiner_ = nullptr;
  };

  class Baton {
   public:
    void post() {
      if (waiter_ != nullptr) Scheduler::current()->push(std::exchange(waiter_, nullptr));
      else posted_ = true;
    }
    void wait() {
      if (std::exchange(posted_, false)) return;
      Scheduler* scheduler = Scheduler::current();
      waiter_ = scheduler->running();
      scheduler->suspend();
    }

   private:
    bool posted_ = false;
    Unit* waiter_ = nullptr;
  };
  using CrossThreadBaton = Baton;  // never used across threads: supports_cross_thread is false

  class Gate {
   public:
    void open() {
      open_ = true;
      while (Unit* unit = waiters_) {
        waiters_ = unit->next;
        Scheduler::current()->push(unit);
      }
    }
    void wait() {
      if (open_) return;
      Scheduler* scheduler = Scheduler::current();
      Unit* self = scheduler->running();
      self->next = waiters_;
      waiters_ = self;
      scheduler->suspend();
    }

   private:
    bool open_ = false;
    Unit* waiters_ = nullptr;
  };

  static void yield() {
    Scheduler* scheduler = Scheduler::current();
    scheduler->push(scheduler->running());
    scheduler->suspend();
  }

  class Runtime {
   public:
    Runtime() : previous_(std::exchange(Scheduler::current(), &scheduler_)) {}
    ~Runtime() { Scheduler::current() = previous_; }
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    template <class F>
    void block_on(F&& root) {
      JoinSet root_set;
      root_set.spawn(std::forward<F>(root));
      scheduler_.run();
    }

   private:
    Scheduler scheduler_;
    Scheduler* previous_;
  };
};

inline void RawContextModel::Scheduler::run() {
  while (Unit* unit = head_) {
    head_ = unit->next;
    if (head_ == nullptr) tail_ = nullptr;
    running_ = unit;
    unit->context = std::move(unit->context).resume();
    running_ = nullptr;
    if (!unit->context) {  // the unit's function returned; its stack is already released
      JoinSet* join_set = unit->join_set;
      delete unit;
      join_set->child_done();
    }
  }
}

}  // namespace tvt::micro
