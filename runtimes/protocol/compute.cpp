#include "protocol/compute.hpp"

#include <array>
#include <charconv>

#include "protocol/added_work.hpp"
#include "protocol/chat.hpp"

namespace tvt::protocol {
namespace {

constexpr std::uint64_t fnv_offset_basis = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

constexpr std::array<unsigned char, 1024> make_pattern() {
  std::array<unsigned char, 1024> p{};
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<unsigned char>((i * 167 + 13) & 0xff);
  return p;
}
constexpr auto pattern = make_pattern();

}  // namespace

std::uint64_t compute_digest(std::uint32_t kib) {
  std::uint64_t h = fnv_offset_basis;
  for (std::uint32_t k = 0; k < kib; ++k) {
    for (const unsigned char byte : pattern) {
      h ^= byte;
      h *= fnv_prime;
    }
  }
  return h;
}

ComputeRequest parse_compute_line(std::string_view line) {
  if (line.empty()) return {std::nullopt, "empty request"};
  if (line.size() > 10) return {std::nullopt, "kib out of range"};  // also keeps from_chars below far from overflow
  for (const char c : line)
    if (c < '0' || c > '9') return {std::nullopt, "kib must be decimal digits"};
  std::uint64_t kib = 0;
  std::from_chars(line.data(), line.data() + line.size(), kib);
  if (kib > max_compute_kib) return {std::nullopt, "kib out of range"};
  return {static_cast<std::uint32_t>(kib), {}};
}

void append_digest(std::string& out, std::uint64_t digest) {
  static constexpr char hex[] = "0123456789abcdef";
  char text[17];
  for (int i = 15; i >= 0; --i) {
    text[i] = hex[digest & 0xf];
    digest >>= 4;
  }
  text[16] = '\n';
  out.append(text, sizeof text);
}

Verdict ComputeSession::consume(std::string_view in, std::string& out) {
  std::string_view line;
  for (;;) {
    switch (lines_.next(in, line)) {
      case LineSplitter::Status::need_more: return Verdict::keep_open;
      case LineSplitter::Status::too_long: close_reason_ = "compute line over the limit"; return Verdict::close;
      case LineSplitter::Status::line: break;
    }
    added_work(added_work_);
    const auto request = parse_compute_line(line);
    if (request.kib) {
      append_digest(out, compute_digest(*request.kib));
    } else {
      append_error(out, request.reason);
    }
  }
}

}  // namespace tvt::protocol
