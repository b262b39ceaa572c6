#include "protocol/echo.hpp"

#include "protocol/added_work.hpp"
#include "protocol/partial_buffer.hpp"

namespace tvt::protocol {

Verdict EchoSession::consume(std::string_view in, std::string& out) {
  while (!in.empty()) {
    const auto newline = in.find('\n');
    if (newline == std::string_view::npos) {
      if (partial_.size() + in.size() > max_line_bytes_) {
        close_reason_ = "echo line over the limit";
        return Verdict::close;
      }
      partial_.append(in);
      return Verdict::keep_open;
    }
    const auto line = in.substr(0, newline + 1);
    if (partial_.size() + line.size() - 1 > max_line_bytes_) {
      close_reason_ = "echo line over the limit";
      return Verdict::close;
    }
    added_work(added_work_);
    if (!partial_.empty()) {
      out.append(partial_);
      release(partial_);
    }
    out.append(line);
    in.remove_prefix(line.size());
  }
  return Verdict::keep_open;
}

}  // namespace tvt::protocol
