#pragma once
// compute client codec: a request names an amount of CPU work (`<kib>\n`); the reply must be exactly
// `<16 lowercase hex digits of compute_digest(kib)>\n`. The expected digests of the two sizes in the mix are computed
// once, before the run, with the server's own function.
#include <cstdint>
#include <cstring>

#include "loadgen/codec.hpp"
#include "loadgen/engine_config.hpp"

namespace tvt::loadgen {

inline constexpr std::size_t compute_reply_bytes = 17;  // 16 hex digits and '\n'

// Writes `<kib>\n` into out (at least 16 bytes) and returns its length.
std::size_t compute_make_request(char* out, std::uint32_t kib);
// The exact reply to `kib`, computed with tvt::protocol::compute_digest.
void compute_expected_reply(std::uint32_t kib, char (&reply)[compute_reply_bytes]);

class ComputeReplyVerifier {
 public:
  void expect(const char* expected_reply) {
    expected_ = expected_reply;
    matched_ = 0;
  }
  FeedResult feed(const char* data, std::size_t size) {
    const std::size_t want = compute_reply_bytes - matched_;
    const std::size_t take = size < want ? size : want;
    if (std::memcmp(data, expected_ + matched_, take) != 0) return {ReplyStatus::bad, 0};
    matched_ += static_cast<std::uint32_t>(take);
    if (matched_ == compute_reply_bytes) return {ReplyStatus::complete, take};
    return {ReplyStatus::need_more, take};
  }

 private:
  const char* expected_ = nullptr;
  std::uint32_t matched_ = 0;
};

// The compute workload for the engine (workload_codec.hpp): a deterministic mix of small and large requests, each
// size with its own latency histogram; the two expected replies are computed once per engine thread.
class ComputeCodec {
 public:
  static constexpr bool request_reply = true;
  static constexpr bool sized_requests = true;
  using Conn = ComputeReplyVerifier;

  ComputeCodec(const EngineConfig& config, std::uint32_t, std::uint32_t);
  Outgoing request(Conn& verifier, std::uint32_t slot, std::uint64_t sequence, char* send_buffer);
  FeedResult feed(Conn& verifier, const char* data, std::size_t size) { return verifier.feed(data, size); }

 private:
  std::uint32_t small_kib_, large_kib_;
  double large_fraction_;
  char small_reply_[compute_reply_bytes]{};
  char large_reply_[compute_reply_bytes]{};
};

}  // namespace tvt::loadgen
