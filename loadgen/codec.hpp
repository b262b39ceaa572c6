#pragma once
// What every client codec's reply verifier says after being fed bytes, and what a codec hands the engine to send.
#include <cstddef>
#include <cstdint>

#include "loadgen/run_result.hpp"

namespace tvt::loadgen {

enum class ReplyStatus {
  need_more,  // all bytes consumed, the reply is not complete yet
  complete,   // the reply is complete and correct; `consumed` says where it ended
  bad,        // the bytes are not the expected reply
};

struct FeedResult {
  ReplyStatus status;
  std::size_t consumed;
};

// Bytes to send. `data` points into the connection's send buffer or into the codec's own prebuilt request; it stays
// valid until the next request of that connection.
struct Outgoing {
  const char* data = nullptr;
  std::uint16_t length = 0;
  HistKind size_class = HistKind::main;  // compute: small or large (its own latency histogram); main otherwise
};

inline constexpr std::size_t send_buffer_bytes = 96;  // the longest of: echo line, compute request, chat MSG line

}  // namespace tvt::loadgen
