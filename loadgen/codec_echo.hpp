#pragma once
// echo client codec: each request is one line whose content varies with the connection and the sequence number
// (so a server that answered with a stale or another connection's line is caught), and the verifier compares the
// reply with the line sent, byte for byte, as it arrives.
#include <cstdint>
#include <cstring>

#include "loadgen/codec.hpp"
#include "loadgen/engine_config.hpp"

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

// The echo workload for the engine (workload_codec.hpp): a fresh line per request, written in the connection's
// send buffer, which is also what the reply is compared with.
class EchoCodec {
 public:
  static constexpr bool request_reply = true;
  static constexpr bool sized_requests = false;
  using Conn = EchoReplyVerifier;

  EchoCodec(const EngineConfig&, std::uint32_t, std::uint32_t) {}
  Outgoing request(Conn& verifier, std::uint32_t slot, std::uint64_t sequence, char* send_buffer) {
    const std::size_t length = echo_make_line(send_buffer, slot, sequence);
    verifier.expect(send_buffer, length);
    return {send_buffer, static_cast<std::uint16_t>(length)};
  }
  FeedResult feed(Conn& verifier, const char* data, std::size_t size) { return verifier.feed(data, size); }
};

}  // namespace tvt::loadgen
