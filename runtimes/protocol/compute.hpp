#pragma once
// Compute, sans-I/O: each client line `<kib>\n` (decimal, 0..65536) asks for `compute_digest(kib)`, answered as
// `<16 lowercase hex digits>\n`; a malformed line gets `ERR <reason>\n` and the connection stays open; a line over the
// line limit closes it. The digest is CPU work proportional to kib with no I/O and no allocation, the same function
// on every back end, so a large request shows how each model treats a long computation between two awaits.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/limits.hpp"
#include "protocol/line_splitter.hpp"
#include "protocol/session.hpp"

namespace tvt::protocol {

inline constexpr std::uint32_t max_compute_kib = 65536;

// FNV-1a (64-bit) over `kib` KiB of a fixed byte pattern: a serial dependency chain (one multiply per byte) that no
// compiler can vectorise or shortcut, about 1.1 us per KiB on the reference machine. compute_digest(0) is the FNV
// offset basis.
std::uint64_t compute_digest(std::uint32_t kib);

struct ComputeRequest {
  std::optional<std::uint32_t> kib;  // empty: malformed
  std::string_view reason;           // why it is malformed, for the ERR reply
};

// `line` without its '\n'. Accepts only decimal digits (no sign, no spaces), value 0..max_compute_kib.
ComputeRequest parse_compute_line(std::string_view line);

// Appends `<16 lowercase hex digits>\n`.
void append_digest(std::string& out, std::uint64_t digest);

// The whole compute protocol as a Session, computing inline (threads, asio, and the coroutine and fiber back ends
// without --offload). Back ends that offload use LineSplitter + parse_compute_line + compute_digest themselves.
class ComputeSession {
 public:
  explicit ComputeSession(const Limits& limits) : lines_(limits.max_line_bytes), added_work_(limits.added_work) {}

  Verdict consume(std::string_view in, std::string& out);
  std::string_view close_reason() const { return close_reason_; }
  bool has_partial() const { return lines_.has_partial(); }

 private:
  LineSplitter lines_;
  std::uint32_t added_work_;  // per line (added_work.hpp)
  std::string_view close_reason_;
};
static_assert(Session<ComputeSession>);

}  // namespace tvt::protocol
