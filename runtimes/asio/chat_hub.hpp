#pragma once
// Chat on Asio, the way Asio's chat_server example shapes it: per connection a reader coroutine and a writer
// coroutine, a steady_timer that never expires used as the writer's wake-up, and a room (here: a hub of named groups)
// that fans each message out. Synchronization is Asio's: all group state lives on one executor (`ChatHub::executor`,
// a strand in asio-mt; the io_context itself with one thread), each connection's state on its own executor, and
// work moves between them with dispatch, never a mutex.
//
// Invariants:
// - ChatHub::groups_ and each connection's memberships are touched only on the hub executor. The reader hops there
//   to act on the commands of one read, then hops back.
// - A connection's outbox, timers and flags are touched only on its own executor. The hub reaches them by
//   dispatching a delivery there, holding a shared_ptr so the connection outlives every pending delivery.
// - The hub holds raw pointers: a connection removes itself from every group (on the hub executor) before its reader
//   finishes, and the hub is never used after io_context::run() returns (stop abandons the remaining connections to
//   the io_context's destructor, which destroys their coroutine frames; no destructor touches the hub).
// - Each connection's deliveries are dispatched from the hub executor in hub order, so a member receives a group's
//   messages between its JOINED and its LEFT, each exactly once (bar the outbox's counted drops).
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backend/backend.hpp"

namespace tvt::asio_backend {

class ChatConnection;

class ChatHub {
 public:
  ChatHub(asio::any_io_executor executor, std::size_t outbox_bytes)
      : executor_(std::move(executor)), outbox_bytes_(outbox_bytes) {}
  ChatHub(const ChatHub&) = delete;
  ChatHub& operator=(const ChatHub&) = delete;

  const asio::any_io_executor& executor() const { return executor_; }
  std::size_t outbox_bytes() const { return outbox_bytes_; }

  // All of these run on executor(). Replies (JOINED, LEFT, ERR) travel to the connection like messages do.
  void join(ChatConnection& c, std::string_view group);
  void leave(ChatConnection& c, std::string_view group);
  void post(ChatConnection& c, std::string_view group, std::string_view msg_line);
  void reject(ChatConnection& c, std::string_view reason);
  void leave_all(ChatConnection& c);

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  asio::any_io_executor executor_;
  std::size_t outbox_bytes_;
  std::unordered_map<std::string, std::vector<ChatConnection*>, NameHash, std::equal_to<>> groups_;
};

// Serves one chat connection until it ends. `executor` is the socket's (the connection's strand in asio-mt).
asio::awaitable<void> serve_chat(asio::ip::tcp::socket socket, ChatHub& hub, const backend::ServerOptions& options);

}  // namespace tvt::asio_backend
