#pragma once
// echo client codec: each request is one line whose content varies with the connection and the sequence number
// (so a server that answered with a stale or another connection's line is caught), and the verifier compares the
// reply with the line sent, byte for byte, as it arrives.
#include <cstdint>
#include <cstring>

#include "loadgen/codec.hpp"

namespace tvt::loadgen {

inline constexpr std::size_t echo_line_max_bytes = 64;

// Writes the line for (connection, sequence) into `out` (echo_line_max_bytes) and returns its length (newline
// included). Lengths vary between 16 and echo_line_max_bytes.
std::size_t echo_make_line(char* out, std::uint32_t connection, std::uint64_t sequence);

class EchoReplyVerifier {
 public:
  // `expected` must stay valid until the reply completes (it is the connection's own send buffer).
  void expect(const char* expected, std::size_t size) {
    expected_ = expected;
    expected_size_ = static_cast<std::uint32_t>(size);
    matched_ = 0;
  }
  FeedResult feed(const char* data, std::size_t size) {
    const std::size_t want = expected_size_ - matched_;
    const std::size_t take = size < want ? size : want;
    if (std::memcmp(data, expected_ + matched_, take) != 0) return {ReplyStatus::bad, 0};
    matched_ += static_cast<std::uint32_t>(take);
    if (matched_ == expected_size_) return {ReplyStatus::complete, take};
    return {ReplyStatus::need_more, take};
  }

 private:
  const char* expected_ = nullptr;
  std::uint32_t expected_size_ = 0;
  std::uint32_t matched_ = 0;
};

}  // namespace tvt::loadgen
