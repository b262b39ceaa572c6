#include "asio/chat_hub.hpp"

#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <algorithm>
#include <array>
#include <exception>

#include "asio/deadline.hpp"
#include "asio/log_exception.hpp"
#include "net/log.hpp"
#include "protocol/chat.hpp"
#include "protocol/chat_outbox.hpp"
#include "protocol/line_splitter.hpp"

namespace tvt::asio_backend {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

class ChatConnection : public std::enable_shared_from_this<ChatConnection> {
 public:
  ChatConnection(tcp::socket socket, ChatHub& hub, const backend::ServerOptions& options)
      : socket_(std::move(socket)), hub_(hub), options_(options), writer_wakeup_(socket_.get_executor()),
        space_freed_(socket_.get_executor()), outbox_(hub.outbox_bytes()),
        lines_(options.workload.limits.max_line_bytes) {
    // Timers used as condition variables (as in Asio's chat example): they never expire; cancel() wakes the waiter.
    writer_wakeup_.expires_at(asio::steady_timer::time_point::max());
    space_freed_.expires_at(asio::steady_timer::time_point::max());
  }

  awaitable<void> run();

  // ---- called by the hub, on the hub executor; the work happens on this connection's executor ----
  void deliver(std::shared_ptr<const std::string> msg_line) {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this(), msg = std::move(msg_line)] {
      if (self->outbox_.offer_message(*msg)) self->wake_writer();
    });
  }
  template <class Append>
  void reply(Append append) {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this(), append = std::move(append)] {
      append(self->outbox_.replies());
      self->wake_writer();
    });
  }

  std::vector<std::string> memberships;  // hub executor only

 private:
  awaitable<void> read_loop(Deadline* deadline);
  awaitable<void> write_loop(std::shared_ptr<ChatConnection> self);
  awaitable<void> hop_to(const asio::any_io_executor& executor) {
    if (socket_.get_executor() != hub_.executor())  // one thread: the hub and the connection share the io_context
      co_await asio::dispatch(executor, use_awaitable);
  }
  void wake_writer() {
    if (writer_waiting_) writer_wakeup_.cancel();
  }

  tcp::socket socket_;
  ChatHub& hub_;
  const backend::ServerOptions& options_;
  asio::steady_timer writer_wakeup_;
  asio::steady_timer space_freed_;
  protocol::ChatOutbox outbox_;
  protocol::LineSplitter lines_;
  bool writer_waiting_ = false;
  bool reader_waiting_ = false;
  bool reader_done_ = false;
  bool writer_failed_ = false;
  bool server_closes_ = false;
  std::array<char, 1024> read_buffer_;  // small, like Asio's examples; deliberately uninitialised
};

awaitable<void> ChatConnection::run() {
  co_spawn(socket_.get_executor(), write_loop(shared_from_this()), log_exception);
  if (options_.idle_timeout.count() > 0) {
    using namespace asio::experimental::awaitable_operators;
    Deadline deadline(options_.idle_timeout);
    const auto finished = co_await (read_loop(&deadline) || deadline.expired());
    if (finished.index() == 1) {
      static net::RateLimitedLog log;
      log.write("closing a connection: idle, or a chat line not received whole, for %lld ms",
                static_cast<long long>(options_.idle_timeout.count()));
      server_closes_ = true;
    }
  } else {
    co_await read_loop(nullptr);
  }
  co_await hop_to(hub_.executor());
  hub_.leave_all(*this);
  co_await hop_to(socket_.get_executor());
  reader_done_ = true;
  wake_writer();
  if (server_closes_) {
    std::error_code ignored;
    socket_.close(ignored);  // also ends a write stuck on a peer that never reads
  }
}

awaitable<void> ChatConnection::read_loop(Deadline* deadline) {
  for (;;) {
    std::error_code ec;
    const auto n = co_await socket_.async_read_some(asio::buffer(read_buffer_), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    const bool was_partial = lines_.has_partial();
    std::string_view in(read_buffer_.data(), n);
    std::string_view line;
    protocol::LineSplitter::Status status;
    // The commands of one read are acted on in one visit to the hub; `in` and `line` point into read_buffer_, which
    // nothing else touches until the next read.
    co_await hop_to(hub_.executor());
    while ((status = lines_.next(in, line)) == protocol::LineSplitter::Status::line) {
      const auto command = protocol::parse_chat_line(line);
      switch (command.verb) {
        case protocol::ChatVerb::join: hub_.join(*this, command.group); break;
        case protocol::ChatVerb::leave: hub_.leave(*this, command.group); break;
        case protocol::ChatVerb::msg: hub_.post(*this, command.group, line); break;
        case protocol::ChatVerb::invalid: hub_.reject(*this, command.reason); break;
      }
    }
    co_await hop_to(socket_.get_executor());
    if (status == protocol::LineSplitter::Status::too_long) {
      static net::RateLimitedLog log;
      log.write("closing a connection: chat line over the limit");
      server_closes_ = true;
      co_return;
    }
    // Backpressure on our own replies: don't read more while the outbox is over capacity.
    while (outbox_.over_capacity() && !writer_failed_) {
      reader_waiting_ = true;
      co_await space_freed_.async_wait(asio::redirect_error(use_awaitable, ec));
      reader_waiting_ = false;
    }
    if (writer_failed_) co_return;
    if (deadline != nullptr) deadline->after_read(was_partial, lines_.has_partial());
  }
}

// `self` keeps the connection alive for as long as the writer runs.
awaitable<void> ChatConnection::write_loop([[maybe_unused]] std::shared_ptr<ChatConnection> self) {
  std::string sending;
  for (;;) {
    if (!outbox_.has_queued()) {
      if (reader_done_) co_return;
      writer_waiting_ = true;
      std::error_code ec;
      co_await writer_wakeup_.async_wait(asio::redirect_error(use_awaitable, ec));
      writer_waiting_ = false;
      continue;
    }
    outbox_.start_send(sending);
    std::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(sending), asio::redirect_error(use_awaitable, ec));
    outbox_.finish_send(sending);
    if (reader_waiting_) space_freed_.cancel();
    if (ec) {
      writer_failed_ = true;
      std::error_code ignored;
      socket_.close(ignored);  // ends the reader's pending read
      co_return;
    }
  }
}

// ---- hub ----

void ChatHub::join(ChatConnection& c, std::string_view group) {
  auto& mine = c.memberships;
  if (std::find(mine.begin(), mine.end(), group) == mine.end()) {
    if (mine.size() >= protocol::max_groups_per_connection)
      return reject(c, protocol::chat_error::too_many_groups);
    auto it = groups_.find(group);
    if (it == groups_.end()) it = groups_.emplace(std::string(group), std::vector<ChatConnection*>{}).first;
    it->second.push_back(&c);
    mine.emplace_back(group);
  }
  c.reply([name = std::string(group)](std::string& out) { protocol::append_joined(out, name); });
}

void ChatHub::leave(ChatConnection& c, std::string_view group) {
  auto& mine = c.memberships;
  const auto it = std::find(mine.begin(), mine.end(), group);
  if (it != mine.end()) {
    const auto g = groups_.find(group);
    auto& members = g->second;
    members.erase(std::find(members.begin(), members.end(), &c));
    if (members.empty()) groups_.erase(g);
    mine.erase(it);
  }
  c.reply([name = std::string(group)](std::string& out) { protocol::append_left(out, name); });
}

void ChatHub::post(ChatConnection& c, std::string_view group, std::string_view msg_line) {
  const auto& mine = c.memberships;
  if (std::find(mine.begin(), mine.end(), group) == mine.end()) return reject(c, protocol::chat_error::not_a_member);
  const auto message = std::make_shared<const std::string>(msg_line);  // one copy, shared by every delivery
  for (ChatConnection* member : groups_.find(group)->second) member->deliver(message);
}

void ChatHub::reject(ChatConnection& c, std::string_view reason) {
  // Reasons are the static strings of protocol::chat_error, so the view outlives the dispatch.
  c.reply([reason](std::string& out) { protocol::append_error(out, reason); });
}

void ChatHub::leave_all(ChatConnection& c) {
  for (const auto& name : c.memberships) {
    const auto g = groups_.find(name);
    auto& members = g->second;
    members.erase(std::find(members.begin(), members.end(), &c));
    if (members.empty()) groups_.erase(g);
  }
  c.memberships.clear();
}

awaitable<void> serve_chat(tcp::socket socket, ChatHub& hub, const backend::ServerOptions& options) {
  const auto connection = std::make_shared<ChatConnection>(std::move(socket), hub, options);
  co_await connection->run();
}

}  // namespace tvt::asio_backend
