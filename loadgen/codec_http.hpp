#pragma once
// http client codec: a fixed keep-alive GET, and an incremental verifier of its reply (status 200, a Content-Length
// header, exactly that many body bytes). The verifier keeps a few bytes of state and no buffer, so 40,000
// connections cost nothing here, and a reply split anywhere verifies the same.
#include <cstdint>
#include <string>
#include <string_view>

#include "loadgen/codec.hpp"
#include "loadgen/engine_config.hpp"

namespace tvt::loadgen {

std::string http_request(std::string_view host_header);

class HttpReplyVerifier {
 public:
  static constexpr std::uint32_t max_header_bytes = 8 * 1024;
  static constexpr std::int64_t max_body_bytes = 64 << 20;

  FeedResult feed(const char* data, std::size_t size);
  void reset() { *this = HttpReplyVerifier{}; }

 private:
  enum class Step : std::uint8_t { status, status_rest, line_start, name, length_value, skip_line, final_lf, body };
  FeedResult fail() { return {ReplyStatus::bad, 0}; }

  Step step_ = Step::status;
  std::uint8_t match_pos_ = 0;         // bytes of the status prefix or of "content-length:" matched so far
  bool saw_length_digit_ = false;
  std::uint32_t header_bytes_ = 0;
  std::int64_t content_length_ = -1;  // -1: no Content-Length seen
  std::int64_t body_left_ = 0;
};

// The http workload for the engine (workload_codec.hpp): every request is the same prebuilt GET.
class HttpCodec {
 public:
  static constexpr bool request_reply = true;
  static constexpr bool sized_requests = false;
  using Conn = HttpReplyVerifier;

  HttpCodec(const EngineConfig& config, std::uint32_t, std::uint32_t)
      : request_(http_request(config.targets.front().text)) {}
  Outgoing request(Conn& verifier, std::uint32_t, std::uint64_t, char*) {
    verifier.reset();
    return {request_.data(), static_cast<std::uint16_t>(request_.size())};
  }
  FeedResult feed(Conn& verifier, const char* data, std::size_t size) { return verifier.feed(data, size); }

 private:
  std::string request_;
};

}  // namespace tvt::loadgen
