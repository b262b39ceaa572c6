#pragma once
// A chat connection's bounded outbox and its slow-consumer policy, sans-I/O (no lock, no socket: each model guards it
// with its own synchronization and drains it with its own writer).
//
// Policy (docs/CONTRACTS.md): bytes queued plus bytes being sent never exceed `capacity_bytes` for group messages. A group
// message that does not fit is dropped for this member and counted; before the next message that does fit, a
// `DROPPED <n>` line reports how many were dropped since the last notice (the notice must fit too). Replies to the
// connection's own commands (JOINED, LEFT, ERR) are never dropped: the connection's reader stops reading while the
// outbox is over capacity, so those stay bounded by one read's worth of replies.
//
// Memory: at most two buffers (queued, in flight), each bounded as above; both are released when they grow past
// `keep_bytes` and drain, so an idle member holds no heap block.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/chat.hpp"
#include "protocol/partial_buffer.hpp"

namespace tvt::protocol {

class ChatOutbox {
 public:
  explicit ChatOutbox(std::size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // A group message (`msg_line` without '\n'). Returns false if it was dropped by the policy.
  bool offer_message(std::string_view msg_line) {
    std::size_t needed = msg_line.size() + 1;
    if (dropped_since_notice_ > 0) needed += notice_bytes(dropped_since_notice_);
    if (queued_.size() + in_flight_bytes_ + needed > capacity_bytes_) {
      ++dropped_since_notice_;
      ++dropped_total_;
      return false;
    }
    if (dropped_since_notice_ > 0) {
      append_dropped(queued_, dropped_since_notice_);
      dropped_since_notice_ = 0;
    }
    append_message(queued_, msg_line);
    return true;
  }

  // The buffer replies to this connection's own commands are appended to (complete lines only).
  std::string& replies() { return queued_; }

  bool has_queued() const { return !queued_.empty(); }
  // True when the reader should wait for the writer before reading more.
  bool over_capacity() const { return queued_.size() + in_flight_bytes_ > capacity_bytes_; }
  std::uint64_t dropped_total() const { return dropped_total_; }

  // Writer side: moves the queued bytes into `sending` (whose old contents are discarded) and counts them against the
  // capacity until finish_send().
  void start_send(std::string& sending) {
    sending.clear();
    sending.swap(queued_);
    in_flight_bytes_ = sending.size();
  }
  void finish_send(std::string& sending) {
    in_flight_bytes_ = 0;
    if (sending.capacity() > keep_bytes) release(sending);
    if (queued_.empty() && queued_.capacity() > keep_bytes) release(queued_);
  }

  static constexpr std::size_t keep_bytes = 4 * 1024;

 private:
  static std::size_t notice_bytes(std::uint64_t n) {
    std::size_t digits = 1;
    while (n >= 10) {
      n /= 10;
      ++digits;
    }
    return sizeof("DROPPED \n") - 1 + digits;
  }

  std::size_t capacity_bytes_;
  std::string queued_;
  std::size_t in_flight_bytes_ = 0;
  std::uint64_t dropped_since_notice_ = 0;
  std::uint64_t dropped_total_ = 0;
};

}  // namespace tvt::protocol
