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

}  // namespace tvt::loadgen
