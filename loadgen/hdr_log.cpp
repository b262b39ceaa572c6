#include "loadgen/hdr_log.hpp"

#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>

namespace tvt::loadgen {
namespace {

constexpr std::uint32_t v2_encoding_cookie = 0x1c849303 | 0x10;    // LSBit of the word-size nibble: ZigZag LEB128
constexpr std::uint32_t v2_compressed_cookie = 0x1c849304 | 0x10;
constexpr std::size_t v2_header_bytes = 40;
constexpr std::size_t max_varint_bytes = 9;  // LEB128-64b9B: eight 7-bit groups, then one full byte

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
std::uint64_t get_be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

void put_zigzag(std::string& out, std::int64_t signed_value) {
  auto v = (static_cast<std::uint64_t>(signed_value) << 1) ^ static_cast<std::uint64_t>(signed_value >> 63);
  for (std::size_t i = 0; i < max_varint_bytes - 1; ++i) {
    if (v < 0x80) {
      out.push_back(static_cast<char>(v));
      return;
    }
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v & 0xff));
}

// Returns false on truncated input.
bool get_zigzag(const unsigned char*& p, const unsigned char* end, std::int64_t& result) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < max_varint_bytes; ++i) {
    if (p == end) return false;
    const std::uint64_t byte = *p++;
    if (i == max_varint_bytes - 1) {
      v |= byte << 56;
      break;
    }
    v |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) break;
  }
  result = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  return true;
}

std::string encode_uncompressed(const Histogram& h) {
  std::string counts;
  const std::size_t limit = h.used_length();
  for (std::size_t i = 0; i < limit;) {
    const std::int64_t count = h.count_at_index(i++);
    if (count == 0) {
      std::int64_t zeros = 1;
      while (i < limit && h.count_at_index(i) == 0) {
        ++zeros;
        ++i;
      }
      put_zigzag(counts, zeros > 1 ? -zeros : 0);
    } else {
      put_zigzag(counts, count);
    }
  }
  std::string out;
  out.reserve(v2_header_bytes + counts.size());
  put_u32(out, v2_encoding_cookie);
  put_u32(out, static_cast<std::uint32_t>(counts.size()));
  put_u32(out, 0);  // normalizing index offset
  put_u32(out, static_cast<std::uint32_t>(h.significant_digits()));
  put_u64(out, static_cast<std::uint64_t>(h.lowest_discernible()));
  put_u64(out, static_cast<std::uint64_t>(h.highest_trackable()));
  put_u64(out, std::bit_cast<std::uint64_t>(1.0));  // integer-to-double conversion ratio
  out += counts;
  return out;
}

std::optional<Histogram> decode_uncompressed(std::string_view bytes) {
  if (bytes.size() < v2_header_bytes) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (get_be(p, 4) != v2_encoding_cookie) return std::nullopt;
  const std::uint64_t payload = get_be(p + 4, 4);
  const auto digits = static_cast<int>(get_be(p + 12, 4));
  const auto lowest = static_cast<std::int64_t>(get_be(p + 16, 8));
  const auto highest = static_cast<std::int64_t>(get_be(p + 24, 8));
  if (get_be(p + 8, 4) != 0 || payload > bytes.size() - v2_header_bytes) return std::nullopt;
  if (digits < 0 || digits > 5 || lowest < 1 || highest < 2 * lowest || highest > (std::int64_t{1} << 50))
    return std::nullopt;
  std::optional<Histogram> h;
  try {
    h.emplace(lowest, highest, digits);
  } catch (...) {
    return std::nullopt;
  }
  const unsigned char* cursor = p + v2_header_bytes;
  const unsigned char* end = cursor + payload;
  std::size_t index = 0;
  while (cursor < end) {
    std::int64_t value = 0;
    if (!get_zigzag(cursor, end, value)) return std::nullopt;
    if (value < 0) {
      if (-value > static_cast<std::int64_t>(h->counts_length())) return std::nullopt;
      index += static_cast<std::size_t>(-value);
      continue;
    }
    if (index >= h->counts_length()) return std::nullopt;
    h->add_at_index(index++, value);
  }
  return h;
}

}  // namespace

std::string hdr_encode_compressed(const Histogram& histogram) {
  const std::string raw = encode_uncompressed(histogram);
  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string out(8 + compressed_size, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data() + 8), &compressed_size, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION);
  out.resize(8 + compressed_size);
  std::string header;
  put_u32(header, v2_compressed_cookie);
  put_u32(header, static_cast<std::uint32_t>(compressed_size));
  out.replace(0, 8, header);
  return out;
}

std::optional<Histogram> hdr_decode_compressed(std::string_view bytes) {
  if (bytes.size() < 8) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (get_be(p, 4) != v2_compressed_cookie) return std::nullopt;
  const std::uint64_t length = get_be(p + 4, 4);
  if (length > bytes.size() - 8) return std::nullopt;
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return std::nullopt;
  stream.next_in = const_cast<Bytef*>(p + 8);
  stream.avail_in = static_cast<uInt>(length);
  std::string raw;
  constexpr std::size_t max_raw_bytes = 16 << 20;  // bounds a hostile "zip bomb" line
  char chunk[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    rc = inflate(&stream, Z_NO_FLUSH);
    raw.append(chunk, sizeof chunk - stream.avail_out);
    if (raw.size() > max_raw_bytes) rc = Z_DATA_ERROR;
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) break;
  }
  inflateEnd(&stream);
  if (rc != Z_STREAM_END) return std::nullopt;
  return decode_uncompressed(raw);
}

namespace {
constexpr char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(base64_alphabet[(v >> shift) & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(base64_alphabet[(v >> 18) & 63]);
    out.push_back(base64_alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? base64_alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (const char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return std::nullopt;  // data after padding
    const char* pos = std::strchr(base64_alphabet, c);
    if (c == '\0' || pos == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(pos - base64_alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (padding > 2) return std::nullopt;
  return out;
}

HdrLogWriter::~HdrLogWriter() { close(); }

bool HdrLogWriter::open(const std::string& path, double start_time_epoch_s) {
  file_ = std::fopen(path.c_str(), "w");
  if (file_ == nullptr) return false;
  const auto whole = static_cast<std::time_t>(start_time_epoch_s);
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char when[64];
  std::strftime(when, sizeof when, "%a %b %d %H:%M:%S UTC %Y", &utc);
  std::fprintf(file_, "#[Histogram log format version 1.3]\n");
  std::fprintf(file_, "#[StartTime: %.3f (seconds since epoch), %s]\n", start_time_epoch_s, when);
  std::fprintf(file_, "#[BaseTime: %.3f (seconds since epoch)]\n", start_time_epoch_s);
  std::fprintf(file_, "#[Values are in microseconds; Interval_Max is in milliseconds]\n");
  std::fprintf(file_, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n");
  return true;
}

void HdrLogWriter::write_interval(double start_offset_s, double length_s, const Histogram& histogram) {
  if (file_ == nullptr) return;
  const std::string encoded = base64_encode(hdr_encode_compressed(histogram));
  if (std::fprintf(file_, "%.3f,%.3f,%.3f,%s\n", start_offset_s, length_s,
                   static_cast<double>(histogram.max()) / 1000.0, encoded.c_str()) < 0)
    failed_ = true;
}

bool HdrLogWriter::close() {
  if (file_ == nullptr) return !failed_;
  if (std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
  return !failed_;
}

std::optional<HdrLog> hdr_log_read(const std::string& path, std::size_t& bad_lines) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  HdrLog log;
  bad_lines = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.starts_with("#[StartTime: ")) {
      log.start_time_s = std::strtod(line.c_str() + 13, nullptr);
      continue;
    }
    if (line[0] == '#' || line[0] == '"') continue;
    std::string_view rest = line;
    HdrLogInterval interval;
    if (rest.starts_with("Tag=")) {
      const auto comma = rest.find(',');
      if (comma == std::string_view::npos) {
        ++bad_lines;
        continue;
      }
      interval.tag = std::string(rest.substr(4, comma - 4));
      rest.remove_prefix(comma + 1);
    }
    // Three numeric fields, then the base64 histogram.
    std::string_view fields[4];
    bool ok = true;
    for (int i = 0; i < 3; ++i) {
      const auto comma = rest.find(',');
      if (comma == std::string_view::npos) {
        ok = false;
        break;
      }
      fields[i] = rest.substr(0, comma);
      rest.remove_prefix(comma + 1);
    }
    fields[3] = rest;
    std::optional<std::string> bytes;
    std::optional<Histogram> histogram;
    if (ok) bytes = base64_decode(fields[3]);
    if (bytes) histogram = hdr_decode_compressed(*bytes);
    if (!histogram) {
      ++bad_lines;
      continue;
    }
    interval.start_offset_s = std::strtod(std::string(fields[0]).c_str(), nullptr);
    interval.length_s = std::strtod(std::string(fields[1]).c_str(), nullptr);
    interval.histogram = std::move(*histogram);
    log.intervals.push_back(std::move(interval));
  }
  return log;
}

}  // namespace tvt::loadgen
