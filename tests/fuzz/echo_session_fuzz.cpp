// libFuzzer target for the echo session (runtimes/protocol/echo.hpp).
// The echo protocol is simple enough to state as a reference model, so the target checks exact output:
// - every complete line up to the limit is echoed with its '\n', in order; the first line (complete or not) longer
//   than the limit closes the connection with a reason, and nothing of it is echoed;
// - keep_open leaves has_partial() true exactly when an unfinished line is pending;
// - whole, split at a fuzzer-chosen point, and byte by byte give the same output and verdict.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.hpp"
#include "protocol/echo.hpp"

namespace {

using tvt::fuzz::require;
using tvt::protocol::Verdict;

tvt::fuzz::FeedResult reference_echo(std::string_view payload, std::size_t max_line_bytes) {
  tvt::fuzz::FeedResult expected;
  while (!payload.empty()) {
    const auto newline = payload.find('\n');
    const auto line_bytes = newline == std::string_view::npos ? payload.size() : newline;
    if (line_bytes > max_line_bytes) {
      expected.verdict = Verdict::close;
      return expected;
    }
    if (newline == std::string_view::npos) {
      expected.has_partial = true;
      return expected;
    }
    expected.out.append(payload.substr(0, newline + 1));
    payload.remove_prefix(newline + 1);
  }
  return expected;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::array<std::size_t, 4> max_line = {64 * 1024, 1, 8, 100};
  const auto input = tvt::fuzz::parse_fuzz_input(data, size);
  tvt::protocol::Limits limits;
  limits.max_line_bytes = max_line[input.config & 3];
  auto session = [&] { return tvt::protocol::EchoSession(limits); };

  const auto expected = reference_echo(input.payload, limits.max_line_bytes);
  const auto whole = tvt::fuzz::feed(session(), input.payload, input.payload.size(), input.payload.size());
  require(whole.out == expected.out, "echo output differs from the reference");
  require(whole.verdict == expected.verdict, "echo verdict differs from the reference");
  if (whole.verdict == Verdict::keep_open) require(whole.has_partial == expected.has_partial, "has_partial wrong");
  if (whole.verdict == Verdict::close) require(!whole.close_reason.empty(), "close without a reason");

  const auto split = tvt::fuzz::feed(session(), input.payload, input.split, input.payload.size());
  tvt::fuzz::require_same(whole, split, "split feed differs from whole feed");
  if (input.payload.size() <= 4096) {
    const auto bytes = tvt::fuzz::feed(session(), input.payload, 0, 1);
    tvt::fuzz::require_same(whole, bytes, "byte-by-byte feed differs from whole feed");
  }
  return 0;
}
