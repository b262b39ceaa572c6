#include "loadgen/codec_http.hpp"

namespace tvt::loadgen {
namespace {
constexpr std::string_view status_prefix = "HTTP/1.1 200 ";
constexpr std::string_view length_name = "content-length:";
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

std::string http_request(std::string_view host_header) {
  std::string request = "GET / HTTP/1.1\r\nHost: ";
  request.append(host_header).append("\r\n\r\n");
  return request;
}

FeedResult HttpReplyVerifier::feed(const char* data, std::size_t size) {
  std::size_t i = 0;
  while (i < size) {
    if (step_ == Step::body) {
      const auto take = static_cast<std::int64_t>(size - i) < body_left_ ? static_cast<std::int64_t>(size - i)
                                                                         : body_left_;
      body_left_ -= take;
      i += static_cast<std::size_t>(take);
      if (body_left_ == 0) {
        reset();
        return {ReplyStatus::complete, i};
      }
      continue;
    }
    const char c = data[i++];
    if (++header_bytes_ > max_header_bytes) return fail();
    switch (step_) {
      case Step::status:
        if (c != status_prefix[match_pos_]) return fail();
        if (++match_pos_ == status_prefix.size()) step_ = Step::status_rest;
        break;
      case Step::status_rest:
      case Step::skip_line:
        if (c == '\n') step_ = Step::line_start;
        break;
      case Step::line_start:
        if (c == '\r') {
          step_ = Step::final_lf;
        } else if (c == '\n') {
          return fail();
        } else {
          match_pos_ = lower(c) == length_name[0] ? 1 : 0;
          step_ = match_pos_ == 1 ? Step::name : Step::skip_line;
        }
        break;
      case Step::name:
        if (lower(c) != length_name[match_pos_]) {
          step_ = c == '\n' ? Step::line_start : Step::skip_line;
        } else if (++match_pos_ == length_name.size()) {
          if (content_length_ >= 0) return fail();  // a second Content-Length
          content_length_ = 0;
          saw_length_digit_ = false;
          step_ = Step::length_value;
        }
        break;
      case Step::length_value:
        if (c >= '0' && c <= '9') {
          content_length_ = content_length_ * 10 + (c - '0');
          saw_length_digit_ = true;
          if (content_length_ > max_body_bytes) return fail();
        } else if (c == '\r' || c == '\n') {
          if (!saw_length_digit_) return fail();
          step_ = c == '\n' ? Step::line_start : Step::skip_line;
        } else if (c != ' ' && c != '\t') {
          return fail();
        } else if (saw_length_digit_) {
          step_ = Step::skip_line;  // trailing whitespace
        }
        break;
      case Step::final_lf:
        if (c != '\n' || content_length_ < 0) return fail();
        if (content_length_ == 0) {
          reset();
          return {ReplyStatus::complete, i};
        }
        body_left_ = content_length_;
        step_ = Step::body;
        break;
      case Step::body:
        break;  // handled above
    }
  }
  return {ReplyStatus::need_more, size};
}

}  // namespace tvt::loadgen
