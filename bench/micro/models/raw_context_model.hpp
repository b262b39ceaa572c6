#pragma once
// Model "raw-context": the floor for stackful units. Boost.Context `fiber`s with pooled 16 KiB stacks on a one-thread
// FIFO of ready units: what a stackful switch and a stack cost when the scheduler is the least it can be (no guard
// page, no cross-thread queue, no I/O). Not a runtime; exceptions terminate.
//
// Invariants (one thread): a suspending unit switches straight to the next ready unit (one context switch, no trip
// through a scheduler loop); only when nothing is ready does it switch back to block_on's caller. Every switch
// passes the continuation of the unit left behind to the unit arrived at, which stores it in that Unit (`arrived`).
// A unit is running, ready (in the intrusive FIFO) or parked (linked from exactly one Baton, Gate or JoinSet), never
// two at once. A finished unit's stack is released by the switch away from it; whoever arrives next frees the Unit
// and tells its JoinSet.
#include <boost/context/fiber.hpp>
#include <sys/mman.h>

#include <boost/context/stack_context.hpp>
#include <new>
#include <vector>
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

  // Stacks carved from large MAP_NORESERVE regions, recycled through a free list kept outside the stacks, so that a
  // parked unit touches only the pages its stack really uses (a malloc or boost::pool free list would write into
  // the low end of every stack and touch a second page). Regions are never unmapped before the pool dies.
  class StackPool {
   public:
    StackPool() = default;
    StackPool(const StackPool&) = delete;
    StackPool& operator=(const StackPool&) = delete;
    ~StackPool() {
      for (void* region : regions_) munmap(region, region_bytes);
    }
    boost::context::stack_context allocate() {
      char* low = nullptr;
      if (!free_.empty()) {
        low = free_.back();
        free_.pop_back();
      } else {
        if (next_ == end_) add_region();
        low = next_;
        next_ += stack_bytes;
      }
      boost::context::stack_context stack;
      stack.size = stack_bytes;
      stack.sp = low + stack_bytes;  // stacks grow down
      return stack;
    }
    void deallocate(boost::context::stack_context& stack) {
      free_.push_back(static_cast<char*>(stack.sp) - stack_bytes);
    }

   private:
    static constexpr std::size_t region_bytes = 1024 * stack_bytes;
    void add_region() {
      void* region = mmap(nullptr, region_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                          -1, 0);
      if (region == MAP_FAILED) throw std::bad_alloc();
      regions_.push_back(region);
      next_ = static_cast<char*>(region);
      end_ = next_ + region_bytes;
    }
    std::vector<void*> regions_;
    std::vector<char*> free_;
    char* next_ = nullptr;
    char* end_ = nullptr;
  };

  // What Boost.Context copies into each fiber: a handle to the scheduler's pool.
  struct StackAllocator {
    StackPool* pool;
    boost::context::stack_context allocate() { return pool->allocate(); }
    void deallocate(boost::context::stack_context& stack) noexcept { pool->deallocate(stack); }
  };

  struct Unit {
    Unit* next = nullptr;
    boost::context::fiber context;  // empty while the unit runs (its continuation lives nowhere) or once finished
    JoinSet* join_set = nullptr;
    bool finished = false;
  };

  class Scheduler {
   public:

    void push(Unit* unit) {
      unit->next = nullptr;
      if (tail_ != nullptr) tail_->next = unit;
      else head_ = unit;
      tail_ = unit;
    }
    // The caller of block_on runs the ready units until none is left.
    void run() {
      running_ = &caller_;
      while (Unit* unit = pop()) switch_to(unit);
    }
    // Called by the running unit once it is parked somewhere (or queued, for yield): hand the CPU straight to the
    // next ready unit, or back to block_on's caller when none is ready. Returns when this unit is switched to again.
    void suspend() {
      Unit* next = pop();
      if (next == running_) return;  // a yield with nobody else ready
      switch_to(next != nullptr ? next : &caller_);
    }
    Unit* running() const { return running_; }

    template <class F>
    Unit* make_unit(F&& fn, JoinSet* join_set) {
      auto* unit = new Unit;
      unit->join_set = join_set;
      unit->context = boost::context::fiber(std::allocator_arg, StackAllocator{&stacks_},
                                            [this, fn = std::forward<F>(fn)](boost::context::fiber&& from) mutable {
                                              arrived(std::move(from));
                                              fn();
                                              running_->finished = true;
                                              Unit* next = pop();
                                              return std::move(leave_for(next != nullptr ? next : &caller_));
                                            });
      return unit;
    }

    static Scheduler*& current() {
      static thread_local Scheduler* scheduler = nullptr;
      return scheduler;
    }

   private:
    Unit* pop() {
      Unit* unit = head_;
      if (unit != nullptr) {
        head_ = unit->next;
        if (head_ == nullptr) tail_ = nullptr;
      }
      return unit;
    }
    // Bookkeeping before a switch: who we leave, who runs next; returns the target's continuation to resume.
    boost::context::fiber& leave_for(Unit* target) {
      switching_from_ = running_;
      running_ = target;
      return target->context;
    }
    void switch_to(Unit* target) { arrived(std::move(leave_for(target)).resume()); }
    // First thing after every switch, on the unit switched to: keep the continuation of the unit we came from, or,
    // if it finished (its stack is already released), free it and tell its JoinSet.
    void arrived(boost::context::fiber&& from) {
      Unit* previous = switching_from_;
      if (previous->finished) {
        JoinSet* join_set = previous->join_set;
        delete previous;
        join_set->child_done();
      } else {
        previous->context = std::move(from);
      }
    }

    StackPool stacks_;
    Unit caller_;  // stands for block_on's caller, so that it can be switched to like any unit
    Unit* head_ = nullptr;
    Unit* tail_ = nullptr;
    Unit* running_ = nullptr;
    Unit* switching_from_ = nullptr;
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

}  // namespace tvt::micro
