// `server --list-backends`: one JSON object per back end (JSON Lines; the format is in docs/CONTRACTS.md).
#include <cstdio>
#include <string>
#include <string_view>

#include "server/registry.hpp"

namespace tvt::server {
namespace {

// RFC 8259 string: quote, backslash and control characters escaped; other bytes (UTF-8 included) pass through.
void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

template <class Range, class F>
void append_array(std::string& out, const Range& items, F&& append_item) {
  out += '[';
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    append_item(item);
  }
  out += ']';
}

}  // namespace

std::string to_json_line(const BackendEntry& entry) {
  std::string out = "{\"name\":";
  append_string(out, entry.name);
  out += ",\"summary\":";
  append_string(out, entry.summary);
  out += ",\"language\":";
  append_string(out, entry.language);
  out += entry.executable.empty() ? ",\"peer\":false" : ",\"peer\":true";
  out += entry.threads_option ? ",\"threads_option\":true" : ",\"threads_option\":false";
  out += ",\"variants\":";
  append_array(out, entry.variants, [&](const backend::Variant& v) {
    out += "{\"name\":";
    append_string(out, v.name);
    out += ",\"args\":";
    append_array(out, v.args, [&](std::string_view arg) { append_string(out, arg); });
    out += ",\"workloads\":";
    append_array(out, v.workloads, [&](protocol::Workload w) { append_string(out, protocol::name(w)); });
    out += '}';
  });
  out += '}';
  return out;
}

}  // namespace tvt::server
