#pragma once
// Measures the cost window (cost.hpp): reads both sides' CPU time and the server's perf counts at the window's two
// edges. The coordinator calls prepare() before the first connection (perf must attach before the server creates
// threads per connection), open() and close() at the edges, and reads window() afterwards.
#include <sys/types.h>

#include <string>
#include <vector>

#include "loadgen/cost.hpp"
#include "loadgen/options.hpp"
#include "loadgen/perf_counter.hpp"

namespace tvt::loadgen {

class CostMeter {
 public:
  explicit CostMeter(const Options& options) : options_(options) {}
  void prepare();
  // `client_pids`: loadgen's worker processes, whose CPU time is loadgen's too.
  void open(std::int64_t now, std::vector<pid_t> client_pids);
  void close(std::int64_t now);
  bool is_open() const { return opened_ && !closed_; }
  bool was_opened() const { return opened_; }
  CostWindow window();
  // Why a figure is missing ("" when nothing is).
  const std::string& note() const { return note_; }

 private:
  std::optional<std::int64_t> server_cpu() const;
  std::optional<std::int64_t> client_cpu() const;
  void add_note(const std::string& text) { note_ += (note_.empty() ? "" : "; ") + text; }

  const Options& options_;
  PerfCounter perf_;
  bool counting_ = false, opened_ = false, closed_ = false;
  std::vector<pid_t> client_pids_;
  CostWindow window_;
  std::optional<std::int64_t> server_start_, client_start_;
  std::string note_;
};

}  // namespace tvt::loadgen
