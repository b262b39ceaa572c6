#include "loadgen/codec_chat.hpp"

#include <charconv>
#include <cstdio>

namespace tvt::loadgen {

ChatLine parse_chat_line(std::string_view line, std::uint32_t group, std::uint32_t total_connections,
                         std::uint32_t groups) {
  ChatLine out;
  if (line.starts_with("MSG ")) {
    // MSG g<group> <sender>:<seq>:<due_ns>
    const auto space = line.find(' ', 4);
    if (space == std::string_view::npos) return out;
    const std::string_view payload = line.substr(space + 1);
    const char* end = payload.data() + payload.size();
    auto r1 = std::from_chars(payload.data(), end, out.sender);
    if (r1.ec != std::errc{} || r1.ptr == end || *r1.ptr != ':') return out;
    auto r2 = std::from_chars(r1.ptr + 1, end, out.sequence);
    if (r2.ec != std::errc{} || r2.ptr == end || *r2.ptr != ':') return out;
    auto r3 = std::from_chars(r2.ptr + 1, end, out.due_ns);
    if (r3.ec != std::errc{} || r3.ptr != end || out.sender >= total_connections || out.sender % groups != group)
      return out;
    out.kind = ChatLine::Kind::message;
  } else if (line.starts_with("DROPPED ")) {
    const char* end = line.data() + line.size();
    const auto r = std::from_chars(line.data() + 8, end, out.dropped);
    if (r.ec == std::errc{} && r.ptr == end) out.kind = ChatLine::Kind::dropped;
  } else if (line.starts_with("JOINED ")) {
    out.kind = ChatLine::Kind::joined;
  }
  return out;
}

ChatCodec::ChatCodec(const EngineConfig& config, std::uint32_t slot_begin, std::uint32_t slot_end)
    : total_(config.total_connections), groups_(config.options.groups), slot_begin_(slot_begin) {
  std::size_t total = 0;
  table_offset_.reserve(slot_end - slot_begin);
  for (std::uint32_t slot = slot_begin; slot < slot_end; ++slot) {
    table_offset_.push_back(static_cast<std::uint32_t>(total));
    total += group_size(group_of(slot));
  }
  last_seen_.assign(total, 0);
}

Outgoing ChatCodec::join(std::uint32_t slot, char* send_buffer) const {
  const int n = std::snprintf(send_buffer, send_buffer_bytes, "JOIN g%u\n", group_of(slot));
  return {send_buffer, static_cast<std::uint16_t>(n)};
}

Outgoing ChatCodec::post(std::uint32_t slot, std::uint64_t sequence, std::int64_t due_ns, char* send_buffer) const {
  const int n = std::snprintf(send_buffer, send_buffer_bytes, "MSG g%u %u:%llu:%lld\n", group_of(slot), slot,
                              static_cast<unsigned long long>(sequence), static_cast<long long>(due_ns));
  return {send_buffer, static_cast<std::uint16_t>(n)};
}

bool ChatCodec::is_duplicate(std::uint32_t slot, const ChatLine& line) {
  std::uint32_t& last = last_seen_[table_offset_[slot - slot_begin_] + line.sender / groups_];
  if (line.sequence + 1 <= last) return true;
  last = static_cast<std::uint32_t>(line.sequence + 1);
  return false;
}

}  // namespace tvt::loadgen
