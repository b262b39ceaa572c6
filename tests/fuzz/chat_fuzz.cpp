// libFuzzer target for the chat protocol pieces every model shares (runtimes/protocol/{line_splitter,chat,
// chat_outbox}.hpp). Invariants checked on every input:
// - LineSplitter hands out exactly the '\n'-separated lines of the input, in order, and reports too_long at the first
//   line over the limit, whether the input arrives whole, split at a fuzzer-chosen point, or byte by byte;
// - parse_chat_line: JOIN/LEAVE lines are exactly "<verb> <valid group>", MSG lines begin "MSG <valid group> ", and
//   an invalid line carries one of the fixed reasons (no client bytes are reflected);
// - the encoders append exactly one line;
// - ChatOutbox, driven by the same lines (MSG = offer it, "SEND"/"DONE" = the writer starts/finishes a send, anything
//   else = a reply), accepts a message exactly when it fits the policy's capacity (queued + in flight + notice),
//   delivers accepted messages in order, and its DROPPED notices count exactly the messages it refused.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.hpp"
#include "protocol/chat.hpp"
#include "protocol/chat_outbox.hpp"
#include "protocol/line_splitter.hpp"

namespace {

using tvt::fuzz::require;
using namespace tvt::protocol;

struct SplitResult {
  std::vector<std::string> lines;
  bool too_long = false;
  bool has_partial = false;  // meaningful only if !too_long: after too_long the connection closes
  bool operator==(const SplitResult& other) const {
    return lines == other.lines && too_long == other.too_long && (too_long || has_partial == other.has_partial);
  }
};

SplitResult split_lines(std::string_view payload, std::size_t max_line_bytes, std::size_t first_cut,
                        std::size_t piece_bytes) {
  SplitResult result;
  LineSplitter splitter(max_line_bytes);
  auto deliver = [&](std::string_view in) {
    while (!result.too_long) {
      std::string_view line;
      const auto status = splitter.next(in, line);
      if (status == LineSplitter::Status::too_long) result.too_long = true;
      if (status != LineSplitter::Status::line) break;
      require(line.find('\n') == std::string_view::npos, "a line holds a newline");
      result.lines.emplace_back(line);
    }
  };
  if (first_cut > 0) deliver(payload.substr(0, first_cut));
  payload.remove_prefix(first_cut);
  while (!payload.empty() && !result.too_long) {
    deliver(payload.substr(0, piece_bytes));
    payload.remove_prefix(std::min(piece_bytes, payload.size()));
  }
  result.has_partial = splitter.has_partial();
  return result;
}

SplitResult reference_lines(std::string_view payload, std::size_t max_line_bytes) {
  SplitResult result;
  while (!payload.empty()) {
    const auto newline = payload.find('\n');
    const auto length = newline == std::string_view::npos ? payload.size() : newline;
    if (length > max_line_bytes) {
      result.too_long = true;
      return result;
    }
    if (newline == std::string_view::npos) {
      result.has_partial = true;
      return result;
    }
    result.lines.emplace_back(payload.substr(0, newline));
    payload.remove_prefix(newline + 1);
  }
  return result;
}

bool is_fixed_reason(std::string_view reason) {
  for (auto known : {chat_error::unknown_command, chat_error::bad_group, chat_error::missing_payload,
                     chat_error::not_a_member, chat_error::too_many_groups})
    if (reason == known) return true;
  return false;
}

void check_command(std::string_view line) {
  const auto command = parse_chat_line(line);
  switch (command.verb) {
    case ChatVerb::join:
      require(is_valid_group(command.group) && line == "JOIN " + std::string(command.group), "bad JOIN parse");
      break;
    case ChatVerb::leave:
      require(is_valid_group(command.group) && line == "LEAVE " + std::string(command.group), "bad LEAVE parse");
      break;
    case ChatVerb::msg:
      require(is_valid_group(command.group), "MSG with an invalid group");
      require(line.substr(0, 4 + command.group.size() + 1) == "MSG " + std::string(command.group) + " ",
              "MSG group is not the second word");
      break;
    case ChatVerb::invalid:
      require(is_fixed_reason(command.reason), "invalid line without a fixed reason");
      break;
  }
  if (command.verb != ChatVerb::invalid) {
    std::string out;
    append_joined(out, command.group);
    append_left(out, command.group);
    require(out == "JOINED " + std::string(command.group) + "\nLEFT " + std::string(command.group) + "\n",
            "encoders");
  }
}

// Drives an outbox with the lines and checks it against a model of the policy. "SEND" = the writer takes everything
// queued (if it is not already sending), "DONE" = the writer finished, a MSG line = a group message offered, anything
// else = a reply to the connection's own command.
void check_outbox(const std::vector<std::string>& lines, std::size_t capacity_bytes) {
  ChatOutbox outbox(capacity_bytes);
  std::string sent;     // everything the writer has taken, in order
  std::string sending;  // the writer's buffer
  bool writer_busy = false;
  std::vector<std::string> accepted_messages;
  std::uint64_t refused = 0;
  std::uint64_t refused_since_notice = 0;
  std::size_t queued_bytes = 0;
  std::size_t in_flight_bytes = 0;
  for (const auto& line : lines) {
    if (line == "SEND") {
      if (writer_busy) continue;
      outbox.start_send(sending);
      require(sending.size() == queued_bytes, "start_send moved a different amount than was queued");
      sent.append(sending);
      in_flight_bytes = queued_bytes;
      queued_bytes = 0;
      writer_busy = true;
    } else if (line == "DONE") {
      if (!writer_busy) continue;
      outbox.finish_send(sending);
      in_flight_bytes = 0;
      writer_busy = false;
    } else if (parse_chat_line(line).verb == ChatVerb::msg) {
      std::size_t needed = line.size() + 1;
      if (refused_since_notice > 0) needed += ("DROPPED " + std::to_string(refused_since_notice) + "\n").size();
      const bool fits = queued_bytes + in_flight_bytes + needed <= capacity_bytes;
      require(outbox.offer_message(line) == fits, "offer_message decided against the policy");
      if (fits) {
        accepted_messages.push_back(line);
        queued_bytes += needed;
        refused_since_notice = 0;
      } else {
        ++refused;
        ++refused_since_notice;
      }
    } else {
      append_error(outbox.replies(), chat_error::unknown_command);
      queued_bytes += sizeof("ERR unknown command\n") - 1;
    }
    require(outbox.has_queued() == (queued_bytes > 0), "has_queued disagrees with the model");
    require(outbox.over_capacity() == (queued_bytes + in_flight_bytes > capacity_bytes), "over_capacity disagrees");
  }
  if (writer_busy) outbox.finish_send(sending);
  outbox.start_send(sending);
  require(sending.size() == queued_bytes, "final start_send moved a different amount than was queued");
  sent.append(sending);
  outbox.finish_send(sending);
  require(outbox.dropped_total() == refused, "dropped_total differs from the refusals");

  // Replay what was sent: MSG lines are the accepted messages in order; DROPPED notices add up to the refusals that
  // were followed by an accepted message.
  std::size_t next_message = 0;
  std::uint64_t noticed = 0;
  std::string_view rest = sent;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    require(newline != std::string_view::npos, "the outbox sent an unterminated line");
    const auto line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    if (line.substr(0, 8) == "DROPPED ") {
      noticed += std::stoull(std::string(line.substr(8)));
    } else if (line.substr(0, 4) == "MSG ") {
      require(next_message < accepted_messages.size() && line == accepted_messages[next_message],
              "a message was lost, duplicated or reordered");
      ++next_message;
    } else {
      require(line == "ERR unknown command", "unexpected line in the outbox");
    }
  }
  require(next_message == accepted_messages.size(), "an accepted message was never sent");
  require(noticed == refused - refused_since_notice, "DROPPED notices do not count the refused messages");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::array<std::size_t, 4> max_line = {64 * 1024, 1, 16, 100};
  static constexpr std::array<std::size_t, 4> outbox_capacity = {256 * 1024, 16, 64, 300};
  const auto input = tvt::fuzz::parse_fuzz_input(data, size);
  const auto max_line_bytes = max_line[input.config & 3];

  const auto expected = reference_lines(input.payload, max_line_bytes);
  const auto whole = split_lines(input.payload, max_line_bytes, input.payload.size(), input.payload.size());
  require(whole == expected, "LineSplitter differs from the reference");
  require(split_lines(input.payload, max_line_bytes, input.split, input.payload.size()) == expected,
          "LineSplitter split feed differs");
  if (input.payload.size() <= 2048)
    require(split_lines(input.payload, max_line_bytes, 0, 1) == expected, "LineSplitter byte feed differs");

  for (const auto& line : whole.lines) check_command(line);
  check_outbox(whole.lines, outbox_capacity[(input.config >> 2) & 3]);
  return 0;
}
