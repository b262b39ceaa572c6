#pragma once
// HTTP/1.1 keep-alive server side: GET and HEAD answered with a fixed 200 body, pipelined requests in order.
// Malformed request -> 400 and close; header section over the byte or field limit -> 431 and close; other methods ->
// 405 and close; `Connection: close` (or HTTP/1.0 without keep-alive) -> answer, then close.
// Request bodies announced with Content-Length are read and discarded; Transfer-Encoding is not supported (501).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/limits.hpp"
#include "protocol/session.hpp"

namespace tvt::protocol {

// Every reply the server can send, built once per server so that answering is one append.
struct HttpReplies {
  explicit HttpReplies(const Limits& limits);

  std::size_t max_header_bytes;
  std::size_t max_header_fields;
  std::uint32_t added_work;   // per request (added_work.hpp)
  std::string ok;             // 200, keep-alive (HTTP/1.1 default)
  std::string ok_keep_alive;  // 200 to an HTTP/1.0 client that asked for keep-alive
  std::string ok_close;       // 200 with Connection: close
  std::string head_ok, head_ok_keep_alive, head_ok_close;
  std::string bad_request, header_too_large, method_not_allowed, not_implemented, version_not_supported,
      payload_too_large;
};

class HttpSession {
 public:
  explicit HttpSession(const HttpReplies& replies) : replies_(&replies) {}

  Verdict consume(std::string_view in, std::string& out);
  std::string_view close_reason() const { return close_reason_; }
  bool has_partial() const { return !partial_.empty() || body_to_skip_ > 0; }

  static constexpr std::size_t max_body_bytes = 1 << 20;

 private:
  enum class Step { need_more, next, close };
  Step parse_one(std::string_view& in, std::string& out);
  Step fail(const std::string& reply, std::string_view reason, std::string& out);
  Verdict parse_all(std::string_view& in, std::string& out);

  const HttpReplies* replies_;  // shared, immutable, outlives every session
  std::string partial_;          // an unfinished header section; empty (no heap) between requests
  std::size_t body_to_skip_ = 0; // bytes of a request body still to discard
  std::string_view close_reason_;
};
static_assert(Session<HttpSession>);

}  // namespace tvt::protocol
