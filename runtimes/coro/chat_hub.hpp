#pragma once
// Chat on the coroutine runtime (coro, coro-local): the blocking hub's design with the runtime's own primitives.
// Group state is guarded by async Mutexes (a task waiting for one parks, its worker runs others); a member's writer
// task and its reader are woken through capacity-1 channels used as notifications (try_send never waits: a token
// already queued means "look again").
//
// Invariants:
// - The hub's map guarded by `map_mutex_`, a Group's member list by its `mutex`, a Member's outbox and flags by its
//   `mutex`.
//   Lock order: map -> group -> member; none is held across I/O.
// - A member's `memberships` is touched only by its reader task. A Group exists while its list is non-empty.
// - Groups hold weak_ptrs: a member cancelled at shutdown (which cannot await the locks to leave its groups) dies
//   without leaving dangling pointers behind; broadcasters skip expired entries. On a normal end the reader leaves
//   every group first. A Member (and so its TcpStream) is owned by its reader and writer tasks only, so it is
//   destroyed while the runtime and its reactors are still alive.
// - JOINED/LEFT are queued under the group lock, so a member's messages for a group lie between its JOINED and LEFT.
// - The reader reads into the member's own buffer (not the per-thread scratch the other workloads use): its commands
//   await locks, and a task may resume on another worker, whose scratch is not this read's bytes.
#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coro/channel.hpp"
#include "coro/mutex.hpp"
#include "coro/task.hpp"
#include "coro/tcp_stream.hpp"
#include "net/log.hpp"
#include "net/partial_request_deadline.hpp"
#include "protocol/chat.hpp"
#include "protocol/chat_outbox.hpp"
#include "protocol/limits.hpp"
#include "protocol/line_splitter.hpp"

namespace tvt::coro::chat {

struct Group;

struct Member {
  Member(TcpStream s, std::size_t outbox_bytes)
      : stream(std::move(s)), outbox(outbox_bytes), wake_writer(channel<char>(1)), space_freed(channel<char>(1)) {}

  TcpStream stream;  // the reader reads, the writer writes (one waiter per direction)
  Mutex mutex;       // guards outbox, reader_done, writer_failed
  protocol::ChatOutbox outbox;
  bool reader_done = false;
  bool writer_failed = false;
  std::pair<Sender<char>, Receiver<char>> wake_writer;  // outbox gained bytes, or the reader is done
  std::pair<Sender<char>, Receiver<char>> space_freed;  // the writer finished a send, or failed
  std::vector<std::pair<std::string, Group*>> memberships;  // reader only
  std::array<char, 2048> read_buffer;                        // uninitialised on purpose

  static void notify(std::pair<Sender<char>, Receiver<char>>& ch) {
    char token = 0;
    ch.first.try_send(token);  // full = a token is already pending, which is all a wake-up needs
  }
  Group* find(std::string_view name) const {
    for (const auto& [n, g] : memberships)
      if (n == name) return g;
    return nullptr;
  }
};

struct Group {
  Mutex mutex;
  std::vector<std::pair<const Member*, std::weak_ptr<Member>>> members;  // the raw pointer is identity only
};

class ChatHub {
 public:
  explicit ChatHub(std::size_t outbox_bytes) : outbox_bytes_(outbox_bytes) {}
  std::size_t outbox_bytes() const { return outbox_bytes_; }

  // Queues a reply (JOINED/LEFT/ERR) for `m` itself.
  template <class Append>
  static Task<void> reply(Member& m, Append append) {
    {
      auto guard = co_await m.mutex.lock();
      append(m.outbox.replies());
    }
    Member::notify(m.wake_writer);
  }

  Task<void> join(const std::shared_ptr<Member>& m, std::string_view name) {
    if (m->find(name) == nullptr) {
      if (m->memberships.size() >= protocol::max_groups_per_connection) {
        co_await reply(*m, [](std::string& out) { protocol::append_error(out, protocol::chat_error::too_many_groups); });
        co_return;
      }
      auto map_guard = co_await map_mutex_.lock();
      auto& slot = groups_[std::string(name)];
      if (!slot) slot = std::make_unique<Group>();
      Group* g = slot.get();
      auto group_guard = co_await g->mutex.lock();
      g->members.emplace_back(m.get(), m);
      m->memberships.emplace_back(std::string(name), g);
      co_await reply(*m, [name](std::string& out) { protocol::append_joined(out, name); });
      co_return;
    }
    co_await reply(*m, [name](std::string& out) { protocol::append_joined(out, name); });
  }

  Task<void> leave(Member& m, std::string_view name) {
    const auto it = std::find_if(m.memberships.begin(), m.memberships.end(),
                                 [&](const auto& entry) { return entry.first == name; });
    if (it == m.memberships.end()) {
      co_await reply(m, [name](std::string& out) { protocol::append_left(out, name); });
      co_return;
    }
    co_await remove(m, it->first, it->second, /*say_left=*/true);
    m.memberships.erase(it);
  }

  Task<void> post(Member& m, std::string_view name, std::string_view msg_line) {
    Group* g = m.find(name);
    if (g == nullptr) {
      co_await reply(m, [](std::string& out) { protocol::append_error(out, protocol::chat_error::not_a_member); });
      co_return;
    }
    auto group_guard = co_await g->mutex.lock();
    for (const auto& entry : g->members) {
      const auto member = entry.second.lock();
      if (!member) continue;  // cancelled at shutdown
      bool queued;
      {
        auto member_guard = co_await member->mutex.lock();
        queued = member->outbox.offer_message(msg_line);
      }
      if (queued) Member::notify(member->wake_writer);
    }
  }

  Task<void> leave_all(Member& m) {
    for (auto& [name, g] : m.memberships) co_await remove(m, name, g, /*say_left=*/false);
    m.memberships.clear();
  }

 private:
  Task<void> remove(Member& m, const std::string& name, Group* g, bool say_left) {
    auto map_guard = co_await map_mutex_.lock();
    bool now_empty;
    {
      auto group_guard = co_await g->mutex.lock();
      auto& members = g->members;
      members.erase(std::find_if(members.begin(), members.end(), [&](const auto& e) { return e.first == &m; }));
      if (say_left) co_await reply(m, [&name](std::string& out) { protocol::append_left(out, name); });
      now_empty = members.empty();
    }
    if (now_empty) groups_.erase(name);
  }

  std::size_t outbox_bytes_;
  Mutex map_mutex_;
  std::unordered_map<std::string, std::unique_ptr<Group>> groups_;
};

inline bool is_routine_end(const std::system_error& e) {
  return e.code() == std::errc::connection_reset || e.code() == std::errc::timed_out ||
         e.code() == std::errc::broken_pipe;
}

// Drains the member's outbox to its socket until the reader is done and everything is sent, or a send fails.
// With `idle_timeout` > 0, a member that takes no byte for that long is dropped (as the threads back end's SO_SNDTIMEO).
inline Task<void> write_loop(std::shared_ptr<Member> m, std::chrono::milliseconds idle_timeout) {
  std::string sending;
  bool failed = false;
  try {
    for (;;) {
      {
        auto guard = co_await m->mutex.lock();
        if (!m->outbox.has_queued() && m->reader_done) co_return;
        if (m->outbox.has_queued()) m->outbox.start_send(sending);
      }
      if (sending.empty()) {
        co_await m->wake_writer.second.recv();
        continue;
      }
      co_await m->stream.write_all(sending, idle_timeout);
      {
        auto guard = co_await m->mutex.lock();
        m->outbox.finish_send(sending);
      }
      sending.clear();
      Member::notify(m->space_freed);
    }
  } catch (const std::system_error& e) {
    if (!is_routine_end(e)) {
      static net::RateLimitedLog log;
      log.write("chat writer: %s", e.what());
    }
    failed = true;
  }
  if (failed) {
    {
      auto guard = co_await m->mutex.lock();
      m->writer_failed = true;
    }
    Member::notify(m->space_freed);
    m->stream.shutdown(Shutdown::both);  // ends the reader's wait too
  }
}

// The reader: one connection's commands, until the peer closes, a line is too long, or the connection times out.
// `spawn_writer(Task<void>) -> JoinHandle<void>` starts the writer where the back end runs its tasks.
template <class SpawnWriter>
Task<void> serve_chat(TcpStream stream, ChatHub& hub, protocol::Limits limits, std::chrono::milliseconds idle_timeout,
                      SpawnWriter spawn_writer) {
  auto m = std::make_shared<Member>(std::move(stream), hub.outbox_bytes());
  auto writer = spawn_writer(write_loop(m, idle_timeout));
  protocol::LineSplitter lines(limits.max_line_bytes);
  bool server_closes = false;
  net::PartialRequestDeadline deadline;  // slowloris: a line may take at most idle_timeout to arrive
  try {
    bool drained = false;
    for (;;) {
      if (drained) co_await m->stream.readable(idle_timeout);  // throws timed_out after idle_timeout of silence
      const auto n = m->stream.try_read(m->read_buffer);
      if (!n) {
        drained = true;
        continue;
      }
      if (*n == 0) break;
      drained = *n < m->read_buffer.size();
      std::string_view in(m->read_buffer.data(), *n), line;
      protocol::LineSplitter::Status status;
      while ((status = lines.next(in, line)) == protocol::LineSplitter::Status::line) {
        const auto command = protocol::parse_chat_line(line);
        switch (command.verb) {
          case protocol::ChatVerb::join: co_await hub.join(m, command.group); break;
          case protocol::ChatVerb::leave: co_await hub.leave(*m, command.group); break;
          case protocol::ChatVerb::msg: co_await hub.post(*m, command.group, line); break;
          case protocol::ChatVerb::invalid: {
            const auto reason = command.reason;
            co_await ChatHub::reply(*m, [reason](std::string& out) { protocol::append_error(out, reason); });
            break;
          }
        }
      }
      if (status == protocol::LineSplitter::Status::too_long) {
        static net::RateLimitedLog log;
        log.write("closing a connection: chat line over the limit");
        server_closes = true;
        break;
      }
      // Backpressure on our own replies: read no more while the outbox is over capacity.
      bool stop_reading = false;
      for (;;) {
        bool wait;
        {
          auto guard = co_await m->mutex.lock();
          stop_reading = m->writer_failed;
          wait = !stop_reading && m->outbox.over_capacity();
        }
        if (!wait) break;
        co_await m->space_freed.second.recv();
      }
      if (stop_reading) break;
      if (deadline.overdue(lines.has_partial(), idle_timeout, "chat line")) {
        server_closes = true;
        break;
      }
    }
  } catch (const std::system_error& e) {
    if (!is_routine_end(e)) {
      static net::RateLimitedLog log;
      log.write("chat connection error: %s", e.what());
    }
    server_closes = true;
  }
  co_await hub.leave_all(*m);
  {
    auto guard = co_await m->mutex.lock();
    m->reader_done = true;
  }
  Member::notify(m->wake_writer);
  if (server_closes) m->stream.shutdown(Shutdown::both);  // a writer stuck on a peer that never reads returns now
  co_await writer;
}

}  // namespace tvt::coro::chat
