#pragma once
// What every client codec's reply verifier says after being fed bytes.
#include <cstddef>

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

}  // namespace tvt::loadgen
