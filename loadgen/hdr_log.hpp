#pragma once
// HdrHistogram interval logs ("Histogram log format version 1.3"): one line per interval,
//   <start_offset_s>,<interval_length_s>,<interval_max>,<base64 of the V2 compressed histogram>
// under "#[StartTime: ...]" / "#[BaseTime: ...]" headers, so that logs from several loadgen instances (or hosts) merge
// with `loadgen merge` or with HdrHistogram's own tools (HistogramLogProcessor, hdr-plot, ...).
// V2 encoding: big-endian header (cookie, payload length, normalizing offset, significant digits, lowest, highest,
// int-to-double ratio), then counts as ZigZag LEB128 varints where a negative value -n stands for n zero counts; the
// compressed form wraps that in a zlib (DEFLATE) stream behind its own cookie and length.
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/histogram.hpp"

namespace tvt::loadgen {

std::string hdr_encode_compressed(const Histogram& histogram);                 // raw bytes
std::optional<Histogram> hdr_decode_compressed(std::string_view bytes);        // nullopt on malformed input
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

struct HdrLogInterval {
  double start_offset_s = 0;  // relative to the log's start/base time
  double length_s = 0;
  std::string tag;            // "" when the line has no Tag= prefix
  Histogram histogram;
};

struct HdrLog {
  double start_time_s = 0;  // seconds since the epoch (0 when the log has no StartTime header)
  std::vector<HdrLogInterval> intervals;
};

// Writes an interval log. Values are microseconds; the interval max column is written in milliseconds (the
// format's customary unit for latency logs).
class HdrLogWriter {
 public:
  HdrLogWriter() = default;
  HdrLogWriter(const HdrLogWriter&) = delete;
  HdrLogWriter& operator=(const HdrLogWriter&) = delete;
  ~HdrLogWriter();

  bool open(const std::string& path, double start_time_epoch_s);  // false with errno set on failure
  void write_interval(double start_offset_s, double length_s, const Histogram& histogram);
  bool close();  // flushes; false if any write failed

 private:
  std::FILE* file_ = nullptr;
  bool failed_ = false;
};

// Reads a log; malformed lines are skipped and counted in `bad_lines` (bad input never aborts a merge).
std::optional<HdrLog> hdr_log_read(const std::string& path, std::size_t& bad_lines);

}  // namespace tvt::loadgen
