#pragma once
// Chat, sans-I/O: one client line in, one command out; and the encoders for what the server sends. Group membership
// and delivery belong to each concurrency model (its "hub"), because that is where the models differ; everything a
// hub needs to agree on byte for byte lives here.
//
// Wire format (docs/CONTRACTS.md): client lines `JOIN <group>`, `LEAVE <group>`, `MSG <group> <payload>`; the server
// answers `JOINED <group>` / `LEFT <group>`, delivers each MSG line unchanged to every member of the group (sender
// included), `ERR <reason>` for a malformed line (connection stays open), and `DROPPED <n>` before the first message
// after a slow consumer lost n messages. Groups are [A-Za-z0-9_-]{1,64}; a payload is any bytes but '\n' (may be
// empty). JOIN of a joined group and LEAVE of a group not joined are answered as if they changed something
// (idempotent); MSG to a group the sender has not joined is refused with ERR.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tvt::protocol {

inline constexpr std::size_t max_group_name_bytes = 64;
// A connection's memberships are bounded so that its memory is: a JOIN past this many groups gets ERR.
inline constexpr std::size_t max_groups_per_connection = 64;
// The default bound on bytes queued for one connection (Limits::chat_outbox_bytes).
inline constexpr std::size_t default_chat_outbox_bytes = 256 * 1024;

enum class ChatVerb { join, leave, msg, invalid };

struct ChatCommand {
  ChatVerb verb = ChatVerb::invalid;
  std::string_view group;   // join, leave, msg: a valid group name (a view into the line)
  std::string_view reason;  // invalid: what was wrong, for the ERR reply
};

// Error reasons the server sends after "ERR ", fixed strings so that no client bytes are ever reflected.
namespace chat_error {
inline constexpr std::string_view unknown_command = "unknown command";
inline constexpr std::string_view bad_group = "bad group name";
inline constexpr std::string_view missing_payload = "MSG needs a group, a space and a payload";
inline constexpr std::string_view not_a_member = "not a member";
inline constexpr std::string_view too_many_groups = "too many groups";
}  // namespace chat_error

bool is_valid_group(std::string_view group);

// `line` is one client line without its '\n'. For MSG the whole line is what gets delivered.
ChatCommand parse_chat_line(std::string_view line);

// Encoders: each appends one complete line, '\n' included.
void append_joined(std::string& out, std::string_view group);
void append_left(std::string& out, std::string_view group);
void append_error(std::string& out, std::string_view reason);
void append_dropped(std::string& out, std::uint64_t count);
inline void append_message(std::string& out, std::string_view msg_line) {
  out.append(msg_line);
  out.push_back('\n');
}

}  // namespace tvt::protocol
