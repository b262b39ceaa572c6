#pragma once
// chat client codec: JOIN g<group>, then MSG lines whose payload `<sender>:<seq>:<due_ns>` lets every receiver check
// the sender belongs to its group, spot duplicates per (receiver, sender), and measure delivery latency from when
// the post was due. Lines arrive at any time, split anywhere; a partial line waits in the connection's own buffer.
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "loadgen/codec.hpp"
#include "loadgen/engine_config.hpp"

namespace tvt::loadgen {

inline constexpr std::size_t chat_line_max_bytes = 160;

// One received line, parsed.
struct ChatLine {
  enum class Kind : std::uint8_t { message, dropped, joined, bad } kind = Kind::bad;
  std::uint32_t sender = 0;
  std::uint64_t sequence = 0;
  std::int64_t due_ns = 0;  // message: when the sender's post was due
  std::int64_t dropped = 0; // dropped: the server's count
};
// `total_connections`, `groups`: a message from a sender outside [0, total) or outside `group` is bad.
ChatLine parse_chat_line(std::string_view line, std::uint32_t group, std::uint32_t total_connections,
                         std::uint32_t groups);

class ChatCodec {
 public:
  static constexpr bool request_reply = false;
  static constexpr bool sized_requests = false;
  struct Conn {
    std::uint16_t line_length = 0;   // bytes of an unfinished received line
    char line[chat_line_max_bytes];  // a few hundred bytes a connection is no concern at 40k
  };

  ChatCodec(const EngineConfig& config, std::uint32_t slot_begin, std::uint32_t slot_end);

  std::uint32_t group_of(std::uint32_t slot) const { return slot % groups_; }
  std::uint32_t group_size(std::uint32_t group) const {
    return total_ / groups_ + (group < total_ % groups_ ? 1 : 0);
  }
  Outgoing join(std::uint32_t slot, char* send_buffer) const;
  Outgoing post(std::uint32_t slot, std::uint64_t sequence, std::int64_t due_ns, char* send_buffer) const;

  // Splits bytes into lines and reports each to the sink; false: a bad or unexpected line (or the sink said so).
  template <class Sink>
  bool feed(Conn& c, std::uint32_t slot, const char* data, std::size_t size, Sink&& sink) {
    while (size > 0) {
      const char* newline = static_cast<const char*>(std::memchr(data, '\n', size));
      const std::size_t take = newline != nullptr ? static_cast<std::size_t>(newline - data) : size;
      if (c.line_length + take > chat_line_max_bytes) return false;
      if (newline == nullptr) {
        std::memcpy(c.line + c.line_length, data, take);
        c.line_length = static_cast<std::uint16_t>(c.line_length + take);
        return true;
      }
      std::string_view line;
      if (c.line_length == 0) {
        line = std::string_view(data, take);
      } else {
        std::memcpy(c.line + c.line_length, data, take);
        line = std::string_view(c.line, c.line_length + take);
      }
      c.line_length = 0;
      data += take + 1;
      size -= take + 1;
      if (!on_line(slot, line, sink)) return false;
    }
    return true;
  }

 private:
  template <class Sink>
  bool on_line(std::uint32_t slot, std::string_view text, Sink& sink) {
    const ChatLine line = parse_chat_line(text, group_of(slot), total_, groups_);
    switch (line.kind) {
      case ChatLine::Kind::message: return sink.delivered(line.due_ns, is_duplicate(slot, line));
      case ChatLine::Kind::dropped: return sink.dropped_by_policy(line.dropped);
      case ChatLine::Kind::joined: return sink.joined();
      case ChatLine::Kind::bad: break;
    }
    return false;  // ERR, LEFT, or anything unexpected
  }
  // Records (receiver, sender, sequence); true when that sequence or a later one was already seen.
  bool is_duplicate(std::uint32_t slot, const ChatLine& line);

  std::uint32_t total_, groups_, slot_begin_;
  std::vector<std::uint32_t> table_offset_;  // per slot of this thread: its first entry in last_seen_
  std::vector<std::uint32_t> last_seen_;     // per (receiver, sender of its group): highest sequence seen + 1
};

}  // namespace tvt::loadgen
