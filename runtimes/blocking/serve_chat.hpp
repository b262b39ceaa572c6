#pragma once
// The chat connection loop shared by the threads and fiber back ends: a reader (the connection's own thread or fiber)
// that parses commands and acts on the hub, and a writer (a second thread or fiber, started by the model's
// `Sync::start`) that drains the connection's outbox to the socket. Two of them because a member must keep receiving
// while it is blocked neither on its own input nor on another member's socket.
//
// Invariants:
// - The reader alone calls stream.read(); the writer alone calls stream.out()/flush(). A ChatStream allows these two
//   to run at the same time (a socket is full duplex).
// - Shutdown order: the reader leaves every group (no more deliveries), sets reader_done and wakes the writer; the
//   writer sends what is queued and exits; the reader joins it. If the server decided to close (oversized line,
//   timeout) the reader also shuts the socket down, so a writer stuck on a peer that never reads returns at once.
//   The writer, when a send fails, sets writer_failed and shuts the socket down, which ends the reader's read.
// - Backpressure on a connection's own replies: after each read the reader waits until its outbox is back under
//   capacity, so a client that floods commands without reading is slowed down, never buffered without bound.
#include <chrono>
#include <concepts>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "blocking/blocking_stream.hpp"
#include "blocking/chat_hub.hpp"
#include "net/log.hpp"
#include "net/partial_request_deadline.hpp"
#include "protocol/chat.hpp"
#include "protocol/line_splitter.hpp"

namespace tvt::blocking {

// A BlockingStream whose read() may run concurrently with out()/flush(), plus shutdown(): wake both directions.
template <class S>
concept ChatStream = BlockingStream<S> && requires(S s) { s.shutdown(); };

// Acts on every whole line of `in` for `member`; a MSG goes to `post(group, line)`. Returns the splitter's last
// status (too_long: the caller closes the connection). Shared by this loop and the threads back end's inline chat.
template <class Hub, class Member, class Post>
protocol::LineSplitter::Status run_chat_commands(Hub& hub, Member& member, protocol::LineSplitter& lines,
                                                 std::string_view in, Post&& post) {
  std::string_view line;
  protocol::LineSplitter::Status status;
  while ((status = lines.next(in, line)) == protocol::LineSplitter::Status::line) {
    const auto command = protocol::parse_chat_line(line);
    switch (command.verb) {
      case protocol::ChatVerb::join: hub.join(member, command.group); break;
      case protocol::ChatVerb::leave: hub.leave(member, command.group); break;
      case protocol::ChatVerb::msg: post(command.group, line); break;
      case protocol::ChatVerb::invalid:
        member.reply([&](std::string& out) { protocol::append_error(out, command.reason); });
        break;
    }
  }
  return status;
}

// `Sync::start(f)` runs f concurrently (a thread, a fiber) and returns a handle with join().
template <class Sync, ChatStream Stream>
void serve_chat(Stream& stream, ChatHub<Sync>& hub, std::size_t max_line_bytes,
                std::chrono::milliseconds request_timeout) {
  using Member = typename ChatHub<Sync>::Member;
  Member member(hub.outbox_bytes());

  auto write_loop = [&stream, &member] {
    for (;;) {
      {
        std::unique_lock lock(member.mutex);
        while (!member.outbox.has_queued() && !member.reader_done) member.writer_wakeup.wait(lock);
        if (!member.outbox.has_queued()) return;  // reader done and everything sent
        member.outbox.start_send(stream.out());
      }
      const bool sent = stream.flush();
      {
        std::lock_guard lock(member.mutex);
        member.outbox.finish_send(stream.out());
        if (!sent) member.writer_failed = true;
        member.space_freed.notify_one();
      }
      if (!sent) {
        stream.shutdown();
        return;
      }
    }
  };
  std::optional<decltype(Sync::start(write_loop))> writer;
  try {
    writer.emplace(Sync::start(write_loop));
  } catch (const std::exception& e) {  // out of threads or memory: refuse this connection, keep serving the others
    static net::RateLimitedLog log;
    log.write("cannot start a chat writer (%s); closing the connection", e.what());
    return;
  }

  protocol::LineSplitter lines(max_line_bytes);
  bool server_closes = false;
  net::PartialRequestDeadline deadline;  // the same slowloris rule as serve_connection
  for (;;) {
    const auto in = stream.read();
    if (in.empty()) break;
    const auto status = run_chat_commands(hub, member, lines, in, [&](std::string_view group, std::string_view line) {
      hub.post(member, group, line);
    });
    if (status == protocol::LineSplitter::Status::too_long) {
      static net::RateLimitedLog log;
      log.write("closing a connection: chat line over the limit");
      server_closes = true;
      break;
    }
    {
      std::unique_lock lock(member.mutex);
      while (member.outbox.over_capacity() && !member.writer_failed) member.space_freed.wait(lock);
      if (member.writer_failed) break;
    }
    if (deadline.overdue(lines.has_partial(), request_timeout, "chat line")) {
      server_closes = true;
      break;
    }
  }

  hub.leave_all(member);
  {
    std::lock_guard lock(member.mutex);
    member.reader_done = true;
    member.writer_wakeup.notify_one();
  }
  if (server_closes) stream.shutdown();
  writer->join();
}

}  // namespace tvt::blocking
