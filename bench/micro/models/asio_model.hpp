#pragma once
// Model "asio": Asio 1.22 C++20 coroutines as a user writes them: every unit is `co_spawn`ed onto one io_context
// (concurrency hint 1), waiting is on `asio::experimental::channel`s, yield is `co_await post(...)`. Across threads,
// the second unit runs on a second io_context on its own thread and the batons are `concurrent_channel`s.
//
// Invariants: everything of one Runtime runs on the thread in `io_context::run`, so JoinSet's counter is plain; a
// Runtime installs itself as the thread's current io_context for its lifetime (the model's primitives need an
// executor and the benchmark bodies do not pass one).
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/experimental/concurrent_channel.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>
#include <string_view>
#include <thread>
#include <utility>

#include "models/placement.hpp"

namespace tvt::micro {

struct AsioModel {
  static constexpr std::string_view name = "asio";
  static constexpr std::size_t max_parked_units = 1'000'000;
  static constexpr std::size_t max_skynet_leaves = 1'000'000;
  static constexpr bool supports_cross_thread = true;

  using Task = asio::awaitable<void>;
  // What the channels carry. Not void(error_code): Asio 1.22's channel_traits find that signature ambiguous.
  using Signal = void(asio::error_code, bool);

  static asio::io_context*& current() {
    static thread_local asio::io_context* context = nullptr;
    return context;
  }

  class JoinSet {
   public:
    void spawn(Task task) {
      ++outstanding_;
      asio::co_spawn(*current(), std::move(task), [this](std::exception_ptr error) {
        if (error) std::rethrow_exception(error);
        if (--outstanding_ == 0 && joiner_waiting_) {
          joiner_waiting_ = false;
          done_.try_send(asio::error_code{}, true);
        }
      });
    }
    asio::awaitable<void> join_all() {
      if (outstanding_ == 0) co_return;
      joiner_waiting_ = true;
      co_await done_.async_receive(asio::use_awaitable);
    }

   private:
    std::size_t outstanding_ = 0;
    bool joiner_waiting_ = false;
    asio::experimental::channel<Signal> done_{*current(), 1};
  };

  // A channel with room for one message holding at most one: a binary semaphore.
  template <class Channel>
  class BasicBaton {
   public:
    void post() { channel_.try_send(asio::error_code{}, true); }
    auto wait() { return channel_.async_receive(asio::use_awaitable); }

   private:
    Channel channel_{*current(), 1};
  };
  using Baton = BasicBaton<asio::experimental::channel<Signal>>;
  using CrossThreadBaton = BasicBaton<asio::experimental::concurrent_channel<Signal>>;

  // Parked units wait on one unbuffered channel; opening closes it, which completes every receive with an error.
  class Gate {
   public:
    auto wait() { return channel_.async_receive(asio::experimental::as_tuple(asio::use_awaitable)); }
    void open() { channel_.close(); }

   private:
    asio::experimental::channel<Signal> channel_{*current(), 0};
  };

  static auto yield() { return asio::post(current()->get_executor(), asio::use_awaitable); }

  class Runtime {
   public:
    Runtime() : previous_(std::exchange(current(), &context_)) {}
    ~Runtime() { current() = previous_; }
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    void block_on(Task root) {
      std::exception_ptr failure;
      asio::co_spawn(context_, std::move(root), [&](std::exception_ptr error) { failure = error; });
      context_.run();
      context_.restart();
      if (failure) std::rethrow_exception(failure);
    }

    void run_pair(Placement placement, Task a, Task b) {
      if (placement == Placement::same_thread) {
        asio::co_spawn(context_, std::move(a), asio::detached);
        asio::co_spawn(context_, std::move(b), asio::detached);
        context_.run();
        context_.restart();
        return;
      }
      asio::io_context other_context{1};
      asio::co_spawn(other_context, std::move(b), asio::detached);
      std::thread other([&] { other_context.run(); });
      asio::co_spawn(context_, std::move(a), asio::detached);
      context_.run();
      context_.restart();
      other.join();
    }

   private:
    asio::io_context context_{1};
    asio::io_context* previous_;
  };
};

}  // namespace tvt::micro
