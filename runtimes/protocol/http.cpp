#include "protocol/http.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "protocol/added_work.hpp"
#include "protocol/partial_buffer.hpp"

namespace tvt::protocol {
namespace {

std::string make_body(std::size_t bytes) {
  static constexpr std::string_view pattern = "Hello, World!";
  std::string body;
  body.reserve(bytes);
  while (body.size() < bytes) body.append(pattern.substr(0, std::min(pattern.size(), bytes - body.size())));
  return body;
}

std::string reply_200(const std::string& body, std::string_view connection, bool head) {
  std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!connection.empty()) r.append("Connection: ").append(connection).append("\r\n");
  r.append("\r\n");
  if (!head) r.append(body);
  return r;
}

std::string reply_error(std::string_view status, std::string_view extra_header = {}) {
  std::string r = "HTTP/1.1 ";
  r.append(status).append("\r\nContent-Length: 0\r\nConnection: close\r\n");
  r.append(extra_header);
  r.append("\r\n");
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);  // ASCII case fold; callers compare against letters and '-'
         });
}

// True if the comma-separated token list `value` contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    auto item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool is_token_char(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

HttpReplies::HttpReplies(const Limits& limits)
    : max_header_bytes(limits.max_header_bytes),
      max_header_fields(limits.max_header_fields),
      added_work(limits.added_work) {
  const auto body = make_body(limits.http_body_bytes);
  ok = reply_200(body, "", false);
  ok_keep_alive = reply_200(body, "keep-alive", false);
  ok_close = reply_200(body, "close", false);
  head_ok = reply_200(body, "", true);
  head_ok_keep_alive = reply_200(body, "keep-alive", true);
  head_ok_close = reply_200(body, "close", true);
  bad_request = reply_error("400 Bad Request");
  header_too_large = reply_error("431 Request Header Fields Too Large");
  method_not_allowed = reply_error("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
  not_implemented = reply_error("501 Not Implemented");
  version_not_supported = reply_error("505 HTTP Version Not Supported");
  payload_too_large = reply_error("413 Content Too Large");
}

HttpSession::Step HttpSession::fail(const std::string& reply, std::string_view reason, std::string& out) {
  out.append(reply);
  close_reason_ = reason;
  return Step::close;
}

// Parses one request from the front of `in`. On `next` it has answered it and advanced `in` past it.
HttpSession::Step HttpSession::parse_one(std::string_view& in, std::string& out) {
  const auto& r = *replies_;
  // Find the blank line that ends the header section, counting lines as we go (LF or CRLF line ends).
  std::size_t line_start = 0;
  std::size_t lines = 0;
  std::size_t request_line_start = 0;
  std::size_t header_end = std::string_view::npos;
  while (true) {
    const auto limit = std::min(in.size(), r.max_header_bytes + 2);
    const void* nl = line_start < limit ? std::memchr(in.data() + line_start, '\n', limit - line_start) : nullptr;
    if (nl == nullptr) break;
    const auto pos = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
    const auto line = strip_cr(in.substr(line_start, pos - line_start));
    const auto this_line_start = line_start;
    line_start = pos + 1;
    if (line.empty()) {
      if (lines == 0) continue;  // RFC 9112 2.2: ignore empty lines before the request line
      header_end = line_start;
      break;
    }
    if (lines == 0) request_line_start = this_line_start;
    if (++lines > r.max_header_fields + 1) return fail(r.header_too_large, "http: too many header fields", out);
  }
  if (header_end == std::string_view::npos) {
    // The section may take max_header_bytes plus its final CRLF (as above); deciding earlier would make the verdict
    // depend on where TCP cut the stream (found by the fuzzer).
    if (in.size() >= r.max_header_bytes + 2) return fail(r.header_too_large, "http: header section too large", out);
    return Step::need_more;
  }
  if (header_end > r.max_header_bytes + 2) return fail(r.header_too_large, "http: header section too large", out);

  // Request line: METHOD SP target SP HTTP/1.x. The empty lines before it are skipped by position, not by stripping
  // CR/LF bytes: a request line may itself start with a stray CR (found by the fuzzer: "\r\r\n\r\n").
  auto head = in.substr(request_line_start, header_end - request_line_start);
  const auto request_line = strip_cr(head.substr(0, head.find('\n')));
  head.remove_prefix(head.find('\n') + 1);
  const auto sp1 = request_line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(r.bad_request, "http: malformed request line", out);
  const auto method = request_line.substr(0, sp1);
  const auto target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = request_line.substr(sp2 + 1);
  if (!is_token(method) || target.empty()) return fail(r.bad_request, "http: malformed request line", out);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return fail(r.bad_request, "http: malformed version", out);
  if (version[5] != '1') return fail(r.version_not_supported, "http: unsupported version", out);
  bool keep_alive = version[7] != '0';  // HTTP/1.1 defaults to keep-alive, HTTP/1.0 to close
  bool asked_keep_alive = false;
  std::size_t content_length = 0;
  bool seen_content_length = false;

  while (!head.empty()) {
    const auto nl = head.find('\n');
    const auto field = strip_cr(head.substr(0, nl));
    head.remove_prefix(nl + 1);
    if (field.empty()) break;
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || !is_token(field.substr(0, colon)))
      return fail(r.bad_request, "http: malformed header field", out);
    const auto name = field.substr(0, colon);
    auto value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (iequals(name, "connection")) {
      if (has_token(value, "close")) keep_alive = false;
      if (has_token(value, "keep-alive")) asked_keep_alive = true;
    } else if (iequals(name, "content-length")) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size() || (seen_content_length && n != content_length))
        return fail(r.bad_request, "http: bad Content-Length", out);
      content_length = n;
      seen_content_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      return fail(r.not_implemented, "http: Transfer-Encoding not supported", out);
    }
  }
  if (version[7] == '0' && asked_keep_alive) keep_alive = true;

  const bool is_get = method == "GET";
  if (!is_get && method != "HEAD") return fail(r.method_not_allowed, "http: method not allowed", out);
  if (content_length > max_body_bytes) return fail(r.payload_too_large, "http: request body too large", out);

  const bool http10 = version[7] == '0';
  protocol::added_work(r.added_work);
  if (!keep_alive) {
    out.append(is_get ? r.ok_close : r.head_ok_close);
  } else if (http10) {
    out.append(is_get ? r.ok_keep_alive : r.head_ok_keep_alive);
  } else {
    out.append(is_get ? r.ok : r.head_ok);
  }
  in.remove_prefix(header_end);
  body_to_skip_ = content_length;
  if (!keep_alive) {
    close_reason_ = "";
    return Step::close;
  }
  return Step::next;
}

Verdict HttpSession::parse_all(std::string_view& in, std::string& out) {
  while (!in.empty()) {
    if (body_to_skip_ > 0) {
      const auto skip = std::min(body_to_skip_, in.size());
      body_to_skip_ -= skip;
      in.remove_prefix(skip);
      continue;
    }
    switch (parse_one(in, out)) {
      case Step::need_more: return Verdict::keep_open;
      case Step::close: return Verdict::close;
      case Step::next: break;
    }
  }
  return Verdict::keep_open;
}

Verdict HttpSession::consume(std::string_view in, std::string& out) {
  if (partial_.empty()) {
    if (parse_all(in, out) == Verdict::close) return Verdict::close;
    if (!in.empty()) partial_.assign(in);
    return Verdict::keep_open;
  }
  partial_.append(in);
  std::string_view rest = partial_;
  if (parse_all(rest, out) == Verdict::close) return Verdict::close;
  if (rest.empty()) {
    release(partial_);
  } else {
    partial_.erase(0, partial_.size() - rest.size());
  }
  return Verdict::keep_open;
}

}  // namespace tvt::protocol
