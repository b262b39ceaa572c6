#include "loadgen/codec_echo.hpp"

#include <cstdio>

namespace tvt::loadgen {

std::size_t echo_make_line(char* out, std::uint32_t connection, std::uint64_t sequence) {
  // splitmix64 of (connection, sequence): the filler's length and letters differ from one request to the next.
  std::uint64_t z = (static_cast<std::uint64_t>(connection) << 40) ^ sequence ^ 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  int n = std::snprintf(out, echo_line_max_bytes, "%u:%llu:", connection, static_cast<unsigned long long>(sequence));
  auto length = static_cast<std::size_t>(n);
  const std::size_t target = 16 + z % (echo_line_max_bytes - 16);
  while (length + 1 < target) {
    out[length++] = static_cast<char>('a' + (z % 26));
    z = z * 6364136223846793005ULL + 1442695040888963407ULL;
  }
  out[length++] = '\n';
  return length;
}

}  // namespace tvt::loadgen
