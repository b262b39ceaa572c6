#pragma once
// Chat group membership and delivery for the blocking-style models (threads, fibers), written once and templated on
// the model's synchronization: std::mutex/std::condition_variable park a thread, the fiber mutex/condition variable
// park a fiber. The hub never blocks on another connection's socket: delivery appends to the member's bounded outbox
// (protocol::ChatOutbox, drop-and-count policy) and wakes that member's writer.
//
// Invariants:
// - `groups_` (name -> Group) is guarded by `map_mutex_`; a Group's member list by its own `mutex`. A Group exists
//   while it has members; the last LEAVE erases it (under both locks, so no JOIN can be adding to it meanwhile).
// - A member's `memberships_` is touched only by its own reader, so it needs no lock; a member is in a group's list
//   iff the group is in its memberships. A Group* in memberships stays valid because the member itself keeps the
//   group non-empty.
// - A member's outbox and flags are guarded by its `mutex`. Lock order: map -> group -> member; nothing else nests.
// - JOINED/LEFT are queued under the group lock, so every message the member receives for a group lies between its
//   JOINED and its LEFT (a message posted concurrently is either before the JOIN in the group's order, or after it).
// - A member leaves every group (leave_all) before it is destroyed, so no broadcaster can reach a dead member.
#include <algorithm>
#include <concepts>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/chat.hpp"
#include "protocol/chat_outbox.hpp"

namespace tvt::blocking {

// What a model provides: a mutex usable with std::unique_lock, and a condition variable that waits on
// std::unique_lock<Mutex> (wait, notify_one, notify_all).
template <class S>
concept ChatSync = requires(typename S::CondVar cv, std::unique_lock<typename S::Mutex> lock) {
  cv.wait(lock);
  cv.notify_one();
  cv.notify_all();
};

template <ChatSync Sync>
class ChatHub {
 public:
  using Mutex = typename Sync::Mutex;
  using CondVar = typename Sync::CondVar;
  struct Group;

  // One connection's side of the chat: its outbox, its writer's wake-ups and its memberships.
  class Member {
   public:
    explicit Member(std::size_t outbox_bytes) : outbox(outbox_bytes) {}

    Mutex mutex;
    CondVar writer_wakeup;  // outbox gained bytes, or the reader is done
    CondVar space_freed;    // the writer finished a send, or failed
    protocol::ChatOutbox outbox;
    bool reader_done = false;    // no more replies will be queued; the writer drains and exits
    bool writer_failed = false;  // the peer is gone; the reader stops

    // Queues a reply to this member's own command (caller holds no member lock).
    template <class Append>
    void reply(Append&& append) {
      std::lock_guard lock(mutex);
      append(outbox.replies());
      writer_wakeup.notify_one();
    }

   private:
    friend class ChatHub;
    std::vector<std::pair<std::string, Group*>> memberships_;  // reader-only

    Group* find(std::string_view name) const {
      for (const auto& [n, g] : memberships_)
        if (n == name) return g;
      return nullptr;
    }
  };

  struct Group {
    Mutex mutex;
    std::vector<Member*> members;
  };

  explicit ChatHub(std::size_t outbox_bytes) : outbox_bytes_(outbox_bytes) {}
  ChatHub(const ChatHub&) = delete;
  ChatHub& operator=(const ChatHub&) = delete;

  std::size_t outbox_bytes() const { return outbox_bytes_; }

  void join(Member& m, std::string_view name) {
    if (m.find(name) != nullptr) return m.reply([&](std::string& out) { protocol::append_joined(out, name); });
    if (m.memberships_.size() >= protocol::max_groups_per_connection)
      return m.reply([](std::string& out) { protocol::append_error(out, protocol::chat_error::too_many_groups); });
    std::lock_guard map_lock(map_mutex_);
    auto& slot = groups_[std::string(name)];
    if (!slot) slot = std::make_unique<Group>();
    Group* g = slot.get();
    std::lock_guard group_lock(g->mutex);
    g->members.push_back(&m);
    m.reply([&](std::string& out) { protocol::append_joined(out, name); });
    m.memberships_.emplace_back(std::string(name), g);
  }

  void leave(Member& m, std::string_view name) {
    const auto it = std::find_if(m.memberships_.begin(), m.memberships_.end(),
                                 [&](const auto& entry) { return entry.first == name; });
    if (it == m.memberships_.end()) return m.reply([&](std::string& out) { protocol::append_left(out, name); });
    remove(m, it->first, it->second, /*say_left=*/true);
    m.memberships_.erase(it);
  }

  // Delivers `msg_line` to every member of `name`, the sender included; a member whose outbox is full loses it
  // (counted there). `delivered(member)` runs under the member's lock after each accepted message: by default it
  // wakes the member's writer; a model that writes from the sender's thread sends there instead.
  void post(Member& m, std::string_view name, std::string_view msg_line) {
    post(m, name, msg_line, [](Member& member) { member.writer_wakeup.notify_one(); });
  }
  template <class Delivered>
  void post(Member& m, std::string_view name, std::string_view msg_line, Delivered&& delivered) {
    Group* g = m.find(name);
    if (g == nullptr)
      return m.reply([](std::string& out) { protocol::append_error(out, protocol::chat_error::not_a_member); });
    std::lock_guard group_lock(g->mutex);
    for (Member* member : g->members) {
      std::lock_guard member_lock(member->mutex);
      if (member->outbox.offer_message(msg_line)) delivered(*member);
    }
  }

  // Called once when the connection ends.
  void leave_all(Member& m) {
    for (auto& [name, g] : m.memberships_) remove(m, name, g, /*say_left=*/false);
    m.memberships_.clear();
  }

 private:
  void remove(Member& m, const std::string& name, Group* g, bool say_left) {
    std::lock_guard map_lock(map_mutex_);
    bool now_empty;
    {
      std::lock_guard group_lock(g->mutex);
      auto& members = g->members;
      members.erase(std::find(members.begin(), members.end(), &m));
      if (say_left) m.reply([&](std::string& out) { protocol::append_left(out, name); });
      now_empty = members.empty();
    }
    if (now_empty) groups_.erase(name);
  }

  std::size_t outbox_bytes_;
  Mutex map_mutex_;
  std::unordered_map<std::string, std::unique_ptr<Group>> groups_;
};

}  // namespace tvt::blocking
