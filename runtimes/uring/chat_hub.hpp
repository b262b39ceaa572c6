#pragma once
// Chat for the single-threaded completion loop: the same hub as asio's (a map of groups to member lists, one
// ChatOutbox per member with the shared slow-consumer policy), minus every synchronization primitive, because the
// loop's one thread is the only one that ever touches it. Deliveries are plain function calls.
//
// Invariants:
// - A group exists while its member list is non-empty; a member is in a group's list iff the group's name is in the
//   member's `memberships`.
// - A member leaves every group (leave_all) when it starts closing, before its object can be freed, so the hub never
//   holds a pointer to a closing or freed connection.
// - `kick(member)` is called after bytes were queued in a member's outbox; the loop starts a send, if none is in
//   flight, once the current batch of completions has been handled, so everything queued meanwhile leaves in one
//   send (as a writer task that wakes once for several messages does in the coroutine models).
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/chat.hpp"
#include "protocol/chat_outbox.hpp"
#include "protocol/line_splitter.hpp"
#include "uring/connection.hpp"

namespace tvt::uring {

struct ChatConnection : Connection {
  ChatConnection(std::uint32_t index, std::size_t outbox_bytes, std::size_t max_line_bytes)
      : Connection(index), outbox(outbox_bytes), lines(max_line_bytes) {}

  protocol::ChatOutbox outbox;   // queued bytes; `sending` holds what the send in flight took from it
  protocol::LineSplitter lines;  // the partial line between reads
  std::vector<std::string> memberships;
  bool reader_done = false;     // the peer closed its side: send what is queued, then close
  bool reader_blocked = false;  // recv not re-armed because the outbox is over capacity
  bool send_deferred = false;   // in the loop's list of sends to start after this batch
};

class ChatHub {
 public:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  template <class Kick>
  void join(ChatConnection& c, std::string_view group, Kick kick) {
    auto& mine = c.memberships;
    if (std::find(mine.begin(), mine.end(), group) == mine.end()) {
      if (mine.size() >= protocol::max_groups_per_connection)
        return reject(c, protocol::chat_error::too_many_groups, kick);
      auto it = groups_.find(group);
      if (it == groups_.end()) it = groups_.emplace(std::string(group), std::vector<ChatConnection*>{}).first;
      it->second.push_back(&c);
      mine.emplace_back(group);
    }
    protocol::append_joined(c.outbox.replies(), group);
    kick(c);
  }

  template <class Kick>
  void leave(ChatConnection& c, std::string_view group, Kick kick) {
    auto& mine = c.memberships;
    const auto it = std::find(mine.begin(), mine.end(), group);
    if (it != mine.end()) {
      remove_from_group(c, group);
      mine.erase(it);
    }
    protocol::append_left(c.outbox.replies(), group);
    kick(c);
  }

  // `msg_line` (the whole `MSG <group> <payload>` line) is copied into each member's outbox, the sender's included.
  template <class Kick>
  void post(ChatConnection& c, std::string_view group, std::string_view msg_line, Kick kick) {
    const auto& mine = c.memberships;
    if (std::find(mine.begin(), mine.end(), group) == mine.end())
      return reject(c, protocol::chat_error::not_a_member, kick);
    for (ChatConnection* member : groups_.find(group)->second)
      if (member->outbox.offer_message(msg_line)) kick(*member);
  }

  template <class Kick>
  void reject(ChatConnection& c, std::string_view reason, Kick kick) {
    protocol::append_error(c.outbox.replies(), reason);
    kick(c);
  }

  void leave_all(ChatConnection& c) {
    for (const auto& name : c.memberships) remove_from_group(c, name);
    c.memberships.clear();
  }

 private:
  void remove_from_group(ChatConnection& c, std::string_view name) {
    const auto g = groups_.find(name);
    auto& members = g->second;
    members.erase(std::find(members.begin(), members.end(), &c));
    if (members.empty()) groups_.erase(g);
  }

  std::unordered_map<std::string, std::vector<ChatConnection*>, NameHash, std::equal_to<>> groups_;
};

}  // namespace tvt::uring
