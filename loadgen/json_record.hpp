#pragma once
// The flat JSON record of a run (docs/CONTRACTS.md): keys in insertion order, values numbers, strings, booleans or null.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tvt::loadgen {

class JsonRecord {
 public:
  void add(std::string_view key, std::int64_t value);
  void add(std::string_view key, double value);
  void add(std::string_view key, std::string_view value);
  void add(std::string_view key, const char* value) { add(key, std::string_view(value)); }
  void add_bool(std::string_view key, bool value);
  // All the digits a double has (Unix times in seconds: %.6g would round them to 10 s).
  void add_precise(std::string_view key, double value);
  void add_null(std::string_view key);
  template <class T>
  void add_optional(std::string_view key, const std::optional<T>& value) {
    if (value) add(key, *value);
    else add_null(key);
  }
  std::string str() const { return "{" + body_ + "}\n"; }

 private:
  void key(std::string_view k);
  std::string body_;
};

// Writes `content` to `path` atomically (a temporary file in the same directory, then rename); "-" = stdout.
bool write_file_atomically(const std::string& path, const std::string& content);

}  // namespace tvt::loadgen
