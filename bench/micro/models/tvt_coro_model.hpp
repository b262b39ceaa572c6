#pragma once
// Models "coro-local" and "coro": our stackless runtime (runtimes/coro) through its public headers only.
// coro-local = `block_on` + `spawn_local` on the calling thread; coro = `spawn` onto a ThreadPool (one worker per
// core): the root runs on a worker, so every unit it spawns lands in that pool, and units may run and be woken on
// any worker (both ping-pong rows of coro measure the pool as it schedules itself).
// Waiting uses the runtime's channels: a Baton is a channel of capacity one; a Gate is a full channel every parked
// unit is blocked sending into (the sender's node lives in its frame: parking allocates nothing), opened by dropping
// the receiver, which wakes every blocked sender.
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "coro/block_on.hpp"
#include "coro/channel.hpp"
#include "coro/join_handle.hpp"
#include "coro/spawn.hpp"
#include "coro/task.hpp"
#include "coro/thread_pool.hpp"
#include "coro/yield_now.hpp"

namespace tvt::micro {

template <bool OnPool>
struct TvtCoroModel {
  static constexpr std::string_view name = OnPool ? "coro" : "coro-local";
  static constexpr std::size_t max_parked_units = 1'000'000;
  static constexpr std::size_t max_skynet_leaves = 1'000'000;
  static constexpr bool supports_cross_thread = OnPool;

  using Task = tvt::coro::Task<void>;

  class JoinSet {
   public:
    // The first handle lives in the set itself: a set of one (spawn+join, the per-connection path) allocates
    // nothing but the task, as the raw-coroutine and asio models' counters do; more go into a block made on the
    // second spawn. The paths for more than one are out of line and the rest of the set is one pointer, so that a
    // set of one costs what a program's spawn and `co_await handle` cost (the set's own calls and registers were
    // the model's cost on every spawn+join otherwise).
    void spawn(Task task) {
      if (!first_.valid()) [[likely]]
        first_ = spawn_unit(std::move(task));
      else
        spawn_more(std::move(task));
    }

    // Awaits every handle. Zero or one left (spawn+join, the last of a batch): that handle is awaited directly, so
    // joining costs what a program's `co_await handle` costs; more go through one helper task.
    auto join_all() { return JoinAll{*this, HandleAwaiter{nullptr}}; }

   private:
    using Handle = tvt::coro::JoinHandle<void>;
    using HandleAwaiter = typename Handle::Awaiter;

    static Handle spawn_unit(Task&& task) {
      return OnPool ? tvt::coro::spawn(std::move(task)) : tvt::coro::spawn_local(std::move(task));
    }

    struct JoinAll {
      JoinSet& set;
      HandleAwaiter one;  // target set: the one handle left is being awaited

      bool await_ready() {
        if (set.more_ != nullptr) [[unlikely]] {
          if (set.drain_finished()) return true;
          if (!set.more_->rest.empty()) return false;
        }
        if (!set.first_.valid()) return true;
        one = set.first_.operator co_await();  // the handle's one await
        return one.await_ready();
      }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> self) {
        if (one.target != nullptr) [[likely]]
          return one.await_suspend(self) ? std::noop_coroutine() : self;
        return set.join_rest(self);
      }
      void await_resume() {
        if (one.target != nullptr) [[likely]] {
          one.await_resume();  // rethrows a unit's exception
          set.first_ = Handle{};
        } else {
          set.rest_joined();
        }
      }
    };

    // The handles after the first, and the helper task joining them.
    struct More {
      std::vector<Handle> rest;
      Task join;  // join_each's frame while it runs
    };

    [[gnu::noinline]] void spawn_more(Task task) {
      if (more_ == nullptr) more_ = std::make_unique<More>();
      more_->rest.push_back(spawn_unit(std::move(task)));
    }

    // Takes the results of the finished handles at the back of the rest (rethrowing a unit's exception); true when
    // nothing is left to join.
    [[gnu::noinline]] bool drain_finished() {
      auto& rest = more_->rest;
      while (!rest.empty() && rest.back().is_finished()) {
        rest.back().take_result();
        rest.pop_back();
      }
      if (rest.empty() && first_.valid() && first_.is_finished()) {
        first_.take_result();
        first_ = Handle{};
      }
      return !first_.valid() && rest.empty();
    }

    // More than one handle left: a helper task awaits them in turn (started by symmetric transfer, and transferring
    // back when done); its frame is kept in More until the join resumes.
    [[gnu::noinline]] std::coroutine_handle<> join_rest(std::coroutine_handle<> self) {
      more_->join = join_each();
      return std::move(more_->join).operator co_await().await_suspend(self);
    }
    [[gnu::noinline]] void rest_joined() {
      if (more_ == nullptr || !more_->join.valid()) return;
      Task done = std::move(more_->join);
      std::move(done).operator co_await().await_resume();  // rethrows a unit's exception
    }

    Task join_each() {
      if (first_.valid()) co_await first_;
      first_ = Handle{};
      for (auto& handle : more_->rest) co_await handle;
      more_->rest.clear();
    }

    Handle first_;
    std::unique_ptr<More> more_;
  };

  class Baton {
   public:
    Baton() {
      auto [tx, rx] = tvt::coro::channel<std::uint8_t>(1);
      tx_.emplace(std::move(tx));
      rx_.emplace(std::move(rx));
    }
    void post() {
      std::uint8_t token = 1;
      tx_->try_send(token);  // full means already posted: a binary semaphore
    }
    auto wait() { return rx_->recv(); }

   private:
    std::optional<tvt::coro::Sender<std::uint8_t>> tx_;
    std::optional<tvt::coro::Receiver<std::uint8_t>> rx_;
  };
  using CrossThreadBaton = Baton;  // the runtime's channels work across threads

  class Gate {
   public:
    Gate() {
      auto [tx, rx] = tvt::coro::channel<std::uint8_t>(1);
      std::uint8_t fill = 0;
      tx.try_send(fill);  // full from the start: every wait() parks as a blocked sender
      tx_.emplace(std::move(tx));
      rx_.emplace(std::move(rx));
    }
    auto wait() { return tx_->send(1); }
    void open() { rx_.reset(); }  // the receiver is gone: every blocked sender wakes (send returns false)

   private:
    std::optional<tvt::coro::Sender<std::uint8_t>> tx_;
    std::optional<tvt::coro::Receiver<std::uint8_t>> rx_;
  };

  static auto yield() { return tvt::coro::yield_now(); }

  class Runtime {
   public:
    void block_on(Task root) {
      if constexpr (OnPool) {
        tvt::coro::block_on(on_pool(pool_, std::move(root)));
      } else {
        tvt::coro::block_on(std::move(root));
      }
    }

   private:
    // Runs `root` on a pool worker, so that its spawns land in this pool rather than the global one.
    static Task on_pool(tvt::coro::ThreadPool& pool, Task root) { co_await pool.spawn(std::move(root)); }

    struct NoPool {};
    [[no_unique_address]] std::conditional_t<OnPool, tvt::coro::ThreadPool, NoPool> pool_{};
  };
};

using CoroLocalModel = TvtCoroModel<false>;
using CoroModel = TvtCoroModel<true>;

}  // namespace tvt::micro
