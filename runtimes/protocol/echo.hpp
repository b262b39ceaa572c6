#pragma once
// Echo: newline-delimited messages, each echoed back with its newline. A line longer than the limit closes the
// connection (the reason names the limit).
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/limits.hpp"
#include "protocol/session.hpp"

namespace tvt::protocol {

class EchoSession {
 public:
  explicit EchoSession(const Limits& limits)
      : max_line_bytes_(limits.max_line_bytes), added_work_(limits.added_work) {}

  Verdict consume(std::string_view in, std::string& out);
  std::string_view close_reason() const { return close_reason_; }
  bool has_partial() const { return !partial_.empty(); }

 private:
  std::size_t max_line_bytes_;
  std::uint32_t added_work_;  // per line (added_work.hpp)
  std::string partial_;  // bytes of an unfinished line; empty (no heap) between lines
  std::string_view close_reason_;
};
static_assert(Session<EchoSession>);

}  // namespace tvt::protocol
