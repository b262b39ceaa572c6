#pragma once
// Splits a byte stream into '\n'-terminated lines for the line-based workloads (chat, compute). Pull-style, so a
// caller may suspend (co_await, park a fiber) between lines: a line that arrives whole inside one read is handed out
// as a view into that read's bytes, with no copy; only a line split across reads is assembled in `partial_`.
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "protocol/partial_buffer.hpp"

namespace tvt::protocol {

class LineSplitter {
 public:
  enum class Status {
    line,       // `line` holds the next line, without its '\n'
    need_more,  // `in` is used up; its unfinished tail is kept until the next read
    too_long,   // the line exceeds the limit: the caller closes the connection
  };

  explicit LineSplitter(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Takes bytes from the front of `in` up to and including the next '\n'. `line` stays valid until the next call or
  // until the storage behind `in` changes, whichever comes first.
  Status next(std::string_view& in, std::string_view& line) {
    if (assembled_) {  // the previous line lived in partial_: give its heap block back now that it has been used
      release(partial_);
      assembled_ = false;
    }
    const void* nl = in.empty() ? nullptr : std::memchr(in.data(), '\n', in.size());
    if (nl == nullptr) {
      if (partial_.size() + in.size() > max_line_bytes_) return Status::too_long;
      partial_.append(in);
      in = {};
      return Status::need_more;
    }
    const auto length = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
    if (partial_.size() + length > max_line_bytes_) return Status::too_long;
    if (partial_.empty()) {
      line = in.substr(0, length);
    } else {
      partial_.append(in.substr(0, length));
      line = partial_;
      assembled_ = true;
    }
    in.remove_prefix(length + 1);
    return Status::line;
  }

  // True while a line is half-received (for the request-read timeout).
  bool has_partial() const { return !assembled_ && !partial_.empty(); }

 private:
  std::size_t max_line_bytes_;
  std::string partial_;    // bytes of an unfinished line; empty (no heap) between lines
  bool assembled_ = false;  // the last line handed out is partial_ itself
};

}  // namespace tvt::protocol
