#pragma once
// How every fuzz target reads its input: a config byte (which limits to use), two bytes that choose where the payload
// is split, then the payload. Feeding the same payload whole, split once and byte by byte must give the same replies
// and the same verdict: a session's output may not depend on how TCP happened to cut the stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/session.hpp"

namespace tvt::fuzz {

struct FuzzInput {
  std::uint8_t config = 0;
  std::size_t split = 0;  // 0..payload.size()
  std::string_view payload;
};

inline FuzzInput parse_fuzz_input(const std::uint8_t* data, std::size_t size) {
  FuzzInput input;
  if (size < 3) return input;
  input.config = data[0];
  const auto split_seed = static_cast<std::size_t>(data[1]) | (static_cast<std::size_t>(data[2]) << 8);
  input.payload = std::string_view(reinterpret_cast<const char*>(data + 3), size - 3);
  input.split = split_seed % (input.payload.size() + 1);
  return input;
}

struct FeedResult {
  std::string out;
  protocol::Verdict verdict = protocol::Verdict::keep_open;
  bool has_partial = false;
  std::string close_reason;
};

// Feeds `payload` in pieces of at most `piece_bytes` (the first piece ends at `first_cut`), stopping at the first close
// verdict as a server does.
template <protocol::Session Session>
FeedResult feed(Session session, std::string_view payload, std::size_t first_cut, std::size_t piece_bytes) {
  FeedResult result;
  auto deliver = [&](std::string_view piece) {
    if (result.verdict == protocol::Verdict::close || piece.empty()) return;
    result.verdict = session.consume(piece, result.out);
  };
  deliver(payload.substr(0, first_cut));
  payload.remove_prefix(first_cut);
  while (!payload.empty() && result.verdict == protocol::Verdict::keep_open) {
    deliver(payload.substr(0, piece_bytes));
    payload.remove_prefix(std::min(piece_bytes, payload.size()));
  }
  result.has_partial = session.has_partial();
  result.close_reason = std::string(session.close_reason());
  return result;
}

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

inline void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

inline void require_same(const FeedResult& a, const FeedResult& b, const char* how) {
  if (a.out != b.out) fail(how);
  if (a.verdict != b.verdict) fail(how);
  if (a.verdict == protocol::Verdict::keep_open && a.has_partial != b.has_partial) fail(how);
  if (a.verdict == protocol::Verdict::close && a.close_reason != b.close_reason) fail(how);
}

}  // namespace tvt::fuzz
