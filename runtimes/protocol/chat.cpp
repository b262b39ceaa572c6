#include "protocol/chat.hpp"

#include <algorithm>
#include <charconv>

namespace tvt::protocol {
namespace {

bool is_group_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

ChatCommand invalid(std::string_view reason) { return {ChatVerb::invalid, {}, reason}; }

ChatCommand with_group(ChatVerb verb, std::string_view group) {
  if (!is_valid_group(group)) return invalid(chat_error::bad_group);
  return {verb, group, {}};
}

}  // namespace

bool is_valid_group(std::string_view group) {
  return !group.empty() && group.size() <= max_group_name_bytes && std::all_of(group.begin(), group.end(), is_group_char);
}

ChatCommand parse_chat_line(std::string_view line) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return invalid(chat_error::unknown_command);
  const auto verb = line.substr(0, space);
  const auto rest = line.substr(space + 1);
  if (verb == "JOIN") return with_group(ChatVerb::join, rest);
  if (verb == "LEAVE") return with_group(ChatVerb::leave, rest);
  if (verb == "MSG") {
    const auto payload_space = rest.find(' ');
    if (payload_space == std::string_view::npos) return invalid(chat_error::missing_payload);
    return with_group(ChatVerb::msg, rest.substr(0, payload_space));
  }
  return invalid(chat_error::unknown_command);
}

void append_joined(std::string& out, std::string_view group) {
  out.append("JOINED ").append(group).push_back('\n');
}

void append_left(std::string& out, std::string_view group) { out.append("LEFT ").append(group).push_back('\n'); }

void append_error(std::string& out, std::string_view reason) { out.append("ERR ").append(reason).push_back('\n'); }

void append_dropped(std::string& out, std::uint64_t count) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, count);
  out.append("DROPPED ").append(digits, static_cast<std::size_t>(end - digits)).push_back('\n');
}

}  // namespace tvt::protocol
