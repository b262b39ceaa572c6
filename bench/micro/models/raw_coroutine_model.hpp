#pragma once
// Model "raw-coroutine": the floor for stackless units. Plain C++20 coroutines on a one-thread FIFO of ready
// coroutines, with nothing a runtime adds (no wakers, no I/O, no cross-thread queue, no cancellation): what a
// coroutine costs when the scheduler is the least it can be. Not a runtime; exceptions terminate.
//
// Invariants (one thread): a unit's coroutine frame is owned by the scheduler from `spawn` until its final suspend,
// where it destroys itself after telling its JoinSet. Every queue is intrusive: the ready queue links `ReadyNode`s
// that live inside the frames (the promise for a spawned unit, the awaiter for a parked one), so no operation but
// the frame allocation itself allocates.
#include <coroutine>
#include <cstddef>
#include <exception>
#include <string_view>
#include <utility>

namespace tvt::micro {

struct RawCoroutineModel {
  static constexpr std::string_view name = "raw-coroutine";
  static constexpr std::size_t max_parked_units = 1'000'000;
  static constexpr std::size_t max_skynet_leaves = 1'000'000;
  static constexpr bool supports_cross_thread = false;

  struct ReadyNode {
    ReadyNode* next = nullptr;
    std::coroutine_handle<> handle;
  };

  // FIFO of ready coroutines; the one per thread is `current()`.
  class Scheduler {
   public:
    void push(ReadyNode* node) {
      node->next = nullptr;
      if (tail_ != nullptr) tail_->next = node;
      else head_ = node;
      tail_ = node;
    }
    void run() {
      while (ReadyNode* node = head_) {
        head_ = node->next;
        if (head_ == nullptr) tail_ = nullptr;
        node->handle.resume();
      }
    }
    static Scheduler*& current() {
      static thread_local Scheduler* scheduler = nullptr;
      return scheduler;
    }

   private:
    ReadyNode* head_ = nullptr;
    ReadyNode* tail_ = nullptr;
  };

  class JoinSet;

  class Task {
   public:
    struct promise_type {
      ReadyNode node;
      JoinSet* join_set = nullptr;

      Task get_return_object() { return Task{std::coroutine_handle<promise_type>::from_promise(*this)}; }
      std::suspend_always initial_suspend() noexcept { return {}; }
      auto final_suspend() noexcept {
        struct TellJoinSetAndDestroy {
          bool await_ready() noexcept { return false; }
          void await_suspend(std::coroutine_handle<promise_type> self) noexcept {
            JoinSet* join_set = self.promise().join_set;
            self.destroy();
            join_set->child_done();
          }
          void await_resume() noexcept {}
        };
        return TellJoinSetAndDestroy{};
      }
      void return_void() noexcept {}
      void unhandled_exception() noexcept { std::terminate(); }
    };

    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Task& operator=(Task&&) = delete;
    ~Task() {
      if (handle_) handle_.destroy();
    }
    std::coroutine_handle<promise_type> release() { return std::exchange(handle_, {}); }

   private:
    explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
    std::coroutine_handle<promise_type> handle_;
  };

  class JoinSet {
   public:
    void spawn(Task task) {
      auto handle = task.release();
      handle.promise().join_set = this;
      handle.promise().node.handle = handle;
      ++outstanding_;
      Scheduler::current()->push(&handle.promise().node);
    }
    auto join_all() {
      struct Awaiter {
        JoinSet* set;
        ReadyNode node;
        bool await_ready() const noexcept { return set->outstanding_ == 0; }
        void await_suspend(std::coroutine_handle<> self) noexcept {
          node.handle = self;
          set->joiner_ = &node;
        }
        void await_resume() const noexcept {}
      };
      return Awaiter{this, {}};
    }
    void child_done() {
      if (--outstanding_ == 0 && joiner_ != nullptr) Scheduler::current()->push(std::exchange(joiner_, nullptr));
    }

   private:
    std::size_t outstanding_ = 0;
    ReadyNode* joiner_ = nullptr;
  };

  class Baton {
   public:
    void post() {
      if (waiter_ != nullptr) Scheduler::current()->push(std::exchange(waiter_, nullptr));
      else posted_ = true;
    }
    auto wait() {
      struct Awaiter {
        Baton* baton;
        ReadyNode node;
        bool await_ready() const noexcept { return std::exchange(baton->posted_, false); }
        void await_suspend(std::coroutine_handle<> self) noexcept {
          node.handle = self;
          baton->waiter_ = &node;
        }
        void await_resume() const noexcept {}
      };
      return Awaiter{this, {}};
    }

   private:
    bool posted_ = false;
    ReadyNode* waiter_ = nullptr;
  };
  using CrossThreadBaton = Baton;  // never used across threads: supports_cross_thread is false

  class Gate {
   public:
    void open() {
      open_ = true;
      while (ReadyNode* node = waiters_) {
        waiters_ = node->next;
        Scheduler::current()->push(node);
      }
    }
    auto wait() {
      struct Awaiter {
        Gate* gate;
        ReadyNode node;
        bool await_ready() const noexcept { return gate->open_; }
        void await_suspend(std::coroutine_handle<> self) noexcept {
          node.handle = self;
          node.next = gate->waiters_;
          gate->waiters_ = &node;
        }
        void await_resume() const noexcept {}
      };
      return Awaiter{this, {}};
    }

   private:
    bool open_ = false;
    ReadyNode* waiters_ = nullptr;  // LIFO: wake order does not matter for a gate
  };

  static auto yield() {
    struct Awaiter {
      ReadyNode node;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> self) noexcept {
        node.handle = self;
        Scheduler::current()->push(&node);
      }
      void await_resume() const noexcept {}
    };
    return Awaiter{};
  }

  class Runtime {
   public:
    Runtime() : previous_(std::exchange(Scheduler::current(), &scheduler_)) {}
    ~Runtime() { Scheduler::current() = previous_; }
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    void block_on(Task root) {
      JoinSet root_set;
      root_set.spawn(std::move(root));
      scheduler_.run();
    }

   private:
    Scheduler scheduler_;
    Scheduler* previous_;
  };
};

}  // namespace tvt::micro
