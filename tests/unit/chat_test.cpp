// The chat protocol, sans-I/O: line splitting at every byte boundary, command parsing, encoders, and the outbox's
// slow-consumer policy (drop, count, DROPPED notice, bounded memory).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/chat.hpp"
#include "protocol/chat_outbox.hpp"
#include "protocol/line_splitter.hpp"

namespace tvt::protocol {
namespace {

// Renders what a server would do with `chunks`: one token per command, "X" when the line limit closes it.
std::string commands_of(const std::vector<std::string_view>& chunks, std::size_t max_line = 32) {
  LineSplitter lines(max_line);
  std::string log;
  for (auto chunk : chunks) {
    std::string_view line;
    for (;;) {
      const auto status = lines.next(chunk, line);
      if (status == LineSplitter::Status::need_more) break;
      if (status == LineSplitter::Status::too_long) return log + "X";
      const auto c = parse_chat_line(line);
      switch (c.verb) {
        case ChatVerb::join: log.append("J:").append(c.group); break;
        case ChatVerb::leave: log.append("L:").append(c.group); break;
        case ChatVerb::msg: log.append("M:").append(c.group).append("=").append(line); break;
        case ChatVerb::invalid: log.append("E:").append(c.reason); break;
      }
      log.push_back('|');
    }
  }
  return log;
}

void expect_split_invariant(std::string_view input, const std::string& expected, std::size_t max_line = 32) {
  EXPECT_EQ(commands_of({input}, max_line), expected) << "whole";
  for (std::size_t k = 0; k <= input.size(); ++k)
    ASSERT_EQ(commands_of({input.substr(0, k), input.substr(k)}, max_line), expected) << "split at " << k;
  for (std::size_t a = 0; a <= input.size(); ++a)
    for (std::size_t b = a; b <= input.size(); ++b)
      ASSERT_EQ(commands_of({input.substr(0, a), input.substr(a, b - a), input.substr(b)}, max_line), expected)
          << "split at " << a << " and " << b;
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  EXPECT_EQ(commands_of(bytes, max_line), expected) << "byte by byte";
}

TEST(ChatParse, CommandsAtEveryByteBoundary) {
  expect_split_invariant("JOIN g1\nMSG g1 hello world\nLEAVE g1\n",
                         "J:g1|M:g1=MSG g1 hello world|L:g1|");
}

TEST(ChatParse, PayloadIsAnyBytesButNewlineAndMayBeEmpty) {
  const std::string payload = std::string("a\r\0\x7f\xff b", 8);
  expect_split_invariant("MSG g " + payload + "\nMSG g \n", "M:g=MSG g " + payload + "|M:g=MSG g |");
}

TEST(ChatParse, MalformedLinesAreErrorsNotCloses) {
  using namespace chat_error;
  expect_split_invariant("\nHELLO\nJOIN\nJOIN \nJOIN a b\nMSG g\nLEAVE x!\njoin g\n",
                         "E:" + std::string(unknown_command) + "|E:" + std::string(unknown_command) + "|E:" +
                             std::string(unknown_command) + "|E:" + std::string(bad_group) + "|E:" +
                             std::string(bad_group) + "|E:" + std::string(missing_payload) + "|E:" +
                             std::string(bad_group) + "|E:" + std::string(unknown_command) + "|");
}

TEST(ChatParse, CarriageReturnIsPartOfTheGroupAndSoInvalid) {
  EXPECT_EQ(parse_chat_line("JOIN g\r").verb, ChatVerb::invalid);
}

TEST(ChatParse, GroupNames) {
  EXPECT_TRUE(is_valid_group("A-z_09"));
  EXPECT_TRUE(is_valid_group(std::string(64, 'g')));
  EXPECT_FALSE(is_valid_group(std::string(65, 'g')));
  EXPECT_FALSE(is_valid_group(""));
  EXPECT_FALSE(is_valid_group("a.b"));
  EXPECT_FALSE(is_valid_group("a b"));
  EXPECT_EQ(parse_chat_line("JOIN " + std::string(65, 'g')).verb, ChatVerb::invalid);
}

TEST(ChatParse, LineAtTheLimitPassesAndOneOverCloses) {
  const std::string at_limit = "MSG g " + std::string(26, 'p');  // 32 bytes
  expect_split_invariant(at_limit + "\n", "M:g=" + at_limit + "|");
  expect_split_invariant("JOIN g\n" + at_limit + "p\n", "J:g|X");
  expect_split_invariant("JOIN g\n" + at_limit + "pppp", "J:g|X");  // closes before the newline arrives
}

TEST(ChatParse, SplitterHoldsOnlyAnUnfinishedLine) {
  LineSplitter lines(64);
  std::string_view in = "JOIN a\nJOI", line;
  ASSERT_EQ(lines.next(in, line), LineSplitter::Status::line);
  EXPECT_FALSE(lines.has_partial());
  ASSERT_EQ(lines.next(in, line), LineSplitter::Status::need_more);
  EXPECT_TRUE(lines.has_partial());
  in = "N b\n";
  ASSERT_EQ(lines.next(in, line), LineSplitter::Status::line);
  EXPECT_EQ(line, "JOIN b");
  EXPECT_FALSE(lines.has_partial());
}

TEST(ChatEncode, Lines) {
  std::string out;
  append_joined(out, "g");
  append_left(out, "g");
  append_error(out, chat_error::not_a_member);
  append_dropped(out, 12345);
  append_message(out, "MSG g x");
  EXPECT_EQ(out, "JOINED g\nLEFT g\nERR not a member\nDROPPED 12345\nMSG g x\n");
}

// ---- outbox ----

TEST(ChatOutbox, QueuesWhatFitsDropsAndCountsTheRest) {
  ChatOutbox box(32);
  EXPECT_TRUE(box.offer_message("MSG g 0123456789"));  // 17 bytes
  EXPECT_FALSE(box.offer_message("MSG g 0123456789"));  // 34 > 32
  EXPECT_FALSE(box.offer_message("MSG g 0"));           // 17 + "DROPPED 1\n" + 8 = 35 > 32
  EXPECT_EQ(box.dropped_total(), 2u);
  std::string sending;
  box.start_send(sending);
  EXPECT_EQ(sending, "MSG g 0123456789\n");
  // Still in flight: it counts against the capacity until the writer finishes.
  EXPECT_FALSE(box.offer_message("MSG g 0123"));  // 17 + 10 + 11 = 38
  box.finish_send(sending);
  EXPECT_TRUE(box.offer_message("MSG g 1"));
  box.start_send(sending);
  EXPECT_EQ(sending, "DROPPED 3\nMSG g 1\n");
  box.finish_send(sending);
  EXPECT_TRUE(box.offer_message("MSG g 2"));
  box.start_send(sending);
  EXPECT_EQ(sending, "MSG g 2\n");  // the notice is sent once
}

TEST(ChatOutbox, RepliesAreNeverDroppedButReportOverCapacity) {
  ChatOutbox box(16);
  append_joined(box.replies(), "a-rather-long-group-name");
  EXPECT_TRUE(box.over_capacity());
  EXPECT_FALSE(box.offer_message("MSG a x"));
  std::string sending;
  box.start_send(sending);
  EXPECT_TRUE(box.over_capacity());  // in flight still counts
  box.finish_send(sending);
  EXPECT_FALSE(box.over_capacity());
  EXPECT_FALSE(box.has_queued());
}

TEST(ChatOutbox, MemoryStaysBoundedUnderAFlood) {
  constexpr std::size_t capacity = 64 * 1024;
  ChatOutbox box(capacity);
  std::string sending;
  std::size_t delivered = 0;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 10000; ++i) delivered += box.offer_message("MSG g some payload of moderate size");
    EXPECT_LE(box.replies().capacity(), 2 * capacity);
    box.start_send(sending);
    box.finish_send(sending);
  }
  EXPECT_GT(delivered, 0u);
  EXPECT_EQ(delivered + box.dropped_total(), 100u * 10000u);
  EXPECT_LE(sending.capacity(), ChatOutbox::keep_bytes);
}

}  // namespace
}  // namespace tvt::protocol
