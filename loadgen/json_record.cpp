#include "loadgen/json_record.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace tvt::loadgen {
namespace {
void append_escaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}
}  // namespace

void JsonRecord::key(std::string_view k) {
  if (!body_.empty()) body_ += ", ";
  append_escaped(body_, k);
  body_ += ": ";
}
void JsonRecord::add(std::string_view k, std::int64_t value) {
  key(k);
  body_ += std::to_string(value);
}
void JsonRecord::add(std::string_view k, double value) {
  key(k);
  if (!std::isfinite(value)) {
    body_ += "null";
    return;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  body_ += buf;
}
void JsonRecord::add_precise(std::string_view k, double value) {
  key(k);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  body_ += std::isfinite(value) ? buf : "null";
}
void JsonRecord::add(std::string_view k, std::string_view value) {
  key(k);
  append_escaped(body_, value);
}
void JsonRecord::add_bool(std::string_view k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
}
void JsonRecord::add_null(std::string_view k) {
  key(k);
  body_ += "null";
}

bool write_file_atomically(const std::string& path, const std::string& content) {
  if (path == "-") {
    std::fwrite(content.data(), 1, content.size(), stdout);
    return std::fflush(stdout) == 0;
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool synced = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!(written && synced && closed) || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace tvt::loadgen
