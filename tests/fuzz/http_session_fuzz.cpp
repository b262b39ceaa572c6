// libFuzzer target for the HTTP session (runtimes/protocol/http.hpp).
// Invariants checked on every input:
// - no crash, no sanitizer report, no unbounded growth (the header limit bounds what the session keeps);
// - the output is a concatenation of the server's prebuilt replies (so every reply is well-formed HTTP/1.1);
// - every reply but the last is a keep-alive 200; a close verdict ends with either an error reply (and a non-empty
//   reason) or a 200 carrying "Connection: close" (and an empty reason); keep_open output holds only keep-alive 200s;
// - whole, split at a fuzzer-chosen point, and byte by byte give the same replies, verdict and reason.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.hpp"
#include "protocol/http.hpp"

namespace {

using tvt::fuzz::require;
using tvt::protocol::HttpReplies;
using tvt::protocol::Limits;
using tvt::protocol::Verdict;

// Small limits let the fuzzer reach the 431 paths with short inputs; the default ones are what servers run.
Limits limits_for(std::uint8_t config) {
  static constexpr std::array<std::size_t, 4> header_bytes = {8 * 1024, 64, 256, 1024};
  static constexpr std::array<std::size_t, 4> header_fields = {100, 2, 5, 20};
  static constexpr std::array<std::size_t, 4> body_bytes = {13, 0, 1, 100};
  Limits limits;
  limits.max_header_bytes = header_bytes[config & 3];
  limits.max_header_fields = header_fields[(config >> 2) & 3];
  limits.http_body_bytes = body_bytes[(config >> 4) & 3];
  return limits;
}

enum class ReplyKind { keep_alive_200, close_200, error };

struct KnownReply {
  const std::string* bytes;
  ReplyKind kind;
};

// What a session's output may be: zero or more keep-alive 200s, then, if the verdict is close, exactly one reply that
// closes. Replies are matched against the prebuilt ones by dynamic programming over positions, not greedily: with a
// 1-byte body "H", a GET reply followed by a reply looks like a HEAD reply followed by "HHTTP/1.1 ...".
void check_replies(const tvt::fuzz::FeedResult& result, const HttpReplies& r) {
  const std::array<KnownReply, 12> known = {{
      {&r.ok, ReplyKind::keep_alive_200},
      {&r.ok_keep_alive, ReplyKind::keep_alive_200},
      {&r.head_ok, ReplyKind::keep_alive_200},
      {&r.head_ok_keep_alive, ReplyKind::keep_alive_200},
      {&r.ok_close, ReplyKind::close_200},
      {&r.head_ok_close, ReplyKind::close_200},
      {&r.bad_request, ReplyKind::error},
      {&r.header_too_large, ReplyKind::error},
      {&r.method_not_allowed, ReplyKind::error},
      {&r.not_implemented, ReplyKind::error},
      {&r.version_not_supported, ReplyKind::error},
      {&r.payload_too_large, ReplyKind::error},
  }};
  const std::string_view out = result.out;
  // reachable[i]: out[0, i) is a sequence of keep-alive 200s.
  std::vector<bool> reachable(out.size() + 1, false);
  reachable[0] = true;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!reachable[i]) continue;
    for (const auto& reply : known)
      if (reply.kind == ReplyKind::keep_alive_200 && out.substr(i, reply.bytes->size()) == *reply.bytes)
        reachable[i + reply.bytes->size()] = true;
  }
  if (result.verdict == Verdict::keep_open) {
    require(reachable[out.size()], "keep_open output is not a sequence of keep-alive 200 replies");
    return;
  }
  bool ends_in_error = false;
  bool ends_in_close_200 = false;
  for (const auto& reply : known) {
    if (reply.kind == ReplyKind::keep_alive_200 || reply.bytes->size() > out.size()) continue;
    const auto start = out.size() - reply.bytes->size();
    if (!reachable[start] || out.substr(start) != *reply.bytes) continue;
    (reply.kind == ReplyKind::error ? ends_in_error : ends_in_close_200) = true;
  }
  require(ends_in_error || ends_in_close_200, "close output does not end in exactly one reply that closes");
  if (ends_in_error) require(!result.close_reason.empty(), "error reply without a close reason");
  if (ends_in_close_200) require(result.close_reason.empty(), "clean close with a reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = tvt::fuzz::parse_fuzz_input(data, size);
  const HttpReplies replies(limits_for(input.config));
  auto session = [&] { return tvt::protocol::HttpSession(replies); };

  const auto whole = tvt::fuzz::feed(session(), input.payload, input.payload.size(), input.payload.size());
  check_replies(whole, replies);
  const auto split = tvt::fuzz::feed(session(), input.payload, input.split, input.payload.size());
  tvt::fuzz::require_same(whole, split, "split feed differs from whole feed");
  if (input.payload.size() <= 512) {
    const auto bytes = tvt::fuzz::feed(session(), input.payload, 0, 1);
    tvt::fuzz::require_same(whole, bytes, "byte-by-byte feed differs from whole feed");
  }
  return 0;
}
