#pragma once
// The command line the examples share: HOST PORT first, a port checked (a bad one is a usage error, not a silently
// truncated port).
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace examples {

// 0..65535 in decimal, the whole text; nullopt otherwise.
inline std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

struct HostPort {
  std::string host;
  std::uint16_t port;
};

// argv = PROGRAM HOST PORT and then `min_more`..`max_more` more arguments (`more_usage` names them). Prints the
// usage and returns nullopt when it is not so.
inline std::optional<HostPort> host_and_port(int argc, char** argv, int min_more = 0, int max_more = 0,
                                             const char* more_usage = "") {
  const int more = argc - 3;
  const auto port = argc >= 3 ? parse_port(argv[2]) : std::nullopt;
  if (more < min_more || more > max_more || !port) {
    std::fprintf(stderr, "usage: %s HOST PORT%s%s\n", argv[0], *more_usage != 0 ? " " : "", more_usage);
    return std::nullopt;
  }
  return HostPort{argv[1], *port};
}

}  // namespace examples
