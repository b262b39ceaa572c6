#pragma once
// The threads model's synchronization for the shared chat loop (blocking/serve_chat.hpp): std::mutex and
// std::condition_variable park the OS thread; a connection's writer is a second std::thread.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "blocking/chat_hub.hpp"

namespace tvt::threads {

struct ThreadSync {
  using Mutex = std::mutex;
  using CondVar = std::condition_variable;
  template <class F>
  static std::thread start(F&& f) {
    return std::thread(std::forward<F>(f));
  }
};
static_assert(blocking::ChatSync<ThreadSync>);

}  // namespace tvt::threads
