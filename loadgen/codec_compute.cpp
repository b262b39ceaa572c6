#include "loadgen/codec_compute.hpp"

#include <cstdio>

#include "protocol/compute.hpp"

namespace tvt::loadgen {

std::size_t compute_make_request(char* out, std::uint32_t kib) {
  return static_cast<std::size_t>(std::snprintf(out, 16, "%u\n", kib));
}

void compute_expected_reply(std::uint32_t kib, char (&reply)[compute_reply_bytes]) {
  char text[compute_reply_bytes + 1];
  std::snprintf(text, sizeof text, "%016llx\n",
                static_cast<unsigned long long>(protocol::compute_digest(kib)));
  std::memcpy(reply, text, compute_reply_bytes);
}

ComputeCodec::ComputeCodec(const EngineConfig& config, std::uint32_t, std::uint32_t)
    : small_kib_(config.options.compute_small_kib),
      large_kib_(config.options.compute_large_kib),
      large_fraction_(config.options.compute_large_fraction) {
  compute_expected_reply(small_kib_, small_reply_);
  compute_expected_reply(large_kib_, large_reply_);
}

Outgoing ComputeCodec::request(Conn& verifier, std::uint32_t slot, std::uint64_t sequence, char* send_buffer) {
  // A deterministic per-(slot, sequence) draw, so every run sends the same mix.
  std::uint64_t z = (static_cast<std::uint64_t>(slot) << 32 | sequence) * 0x9e3779b97f4a7c15ULL;
  z ^= z >> 29;
  const double u = static_cast<double>(z % 1'000'000) / 1e6;
  const bool large = u < large_fraction_;
  const std::size_t length = compute_make_request(send_buffer, large ? large_kib_ : small_kib_);
  verifier.expect(large ? large_reply_ : small_reply_);
  return {send_buffer, static_cast<std::uint16_t>(length), large ? HistKind::large : HistKind::small};
}

}  // namespace tvt::loadgen
