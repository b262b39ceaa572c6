// Connection churn on every back end (issue 19): `loadgen churn` connects, sends one http request and closes, at a
// fixed rate, ≥ 10,000 connections per back end, while it samples the server's RSS, fds and threads every second.
// A leak per connection shows as a slope of RSS against connections churned, not as a level: the judgement is the
// least-squares slope after a warm-up, in bytes per connection, and the fds and threads at the end against idle.
// `server --leak-per-connection 1024` (runtimes/protocol/leak.hpp) is the case that proves the judgement can fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "loadgen_harness.hpp"
#include "support/server_process.hpp"

namespace tvt::test {
namespace {

using namespace std::chrono_literals;
using loadgen_test::bin;
using loadgen_test::json_number;

// The run: 12,000 connections started at 1,200 a second, 10 s (longer when a loaded machine stalls the server and
// loadgen churn drops due connections: they are not started, so the count still comes, within 30 s); the first 3 s
// are warm-up (allocator arenas, thread caches and the GC'd peers' heaps grow to their working size there), the slope
// is fitted over the rest.
constexpr int churn_rate = 1200;
constexpr int churn_connections = 12'000;
constexpr int max_churn_seconds = 30;
constexpr int churn_seconds = 10;
constexpr int warmup_seconds = 3;
constexpr double min_churned = 10'000;
// Connections out at once. A stall of the loaded machine piles up due connections; each holds a thread, a fiber
// stack or buffers, and pools keep those pages: growth with the in-flight peak, which a 10 s fit would read as a slope
// (fiber: 4.6 -> 8.7 MB, 438 B/connection, after a stall with 1,000 allowed in flight). Capped here, that growth is
// bounded and a leak per connection is still linear in the count.
constexpr int max_in_flight = 64;
// Bytes of RSS per churned connection above which the back end is said to leak. Measured with the other core busy
// (2026-11-30, all 15 cases): healthy back ends fitted 0–250 B per connection over these 7 s (asio 154, go-mt 138,
// threads --stack-size 65536 250: allocator arenas and stacks growing with the in-flight peak of a stall, not
// with the count), and a 200 B leak fitted 190 B: a 10 s run cannot tell 200 B from that growth, the soak profile's
// minutes can. 400 B is above every healthy fit; a 1 KiB leak fits ~1 KiB and is caught.
constexpr double max_rss_bytes_per_connection = 400;
// Threads and fds a runtime may keep after the churn without having left them behind per connection (12,000
// connections leaking leave thousands): Go keeps every OS thread it started (5 -> 6, go-mt 7 -> 14 measured); the
// threads back end with --thread-cache left one fd above idle once (8 -> 9) and fiber three (7 -> 10) once, after the
// 5 s settle, not reproduced by hand.
constexpr double pool_threads_allowed = 32;
constexpr double fds_allowed = 4;

struct Sample {
  double churned = 0;
  double rss_bytes = 0;
};

// The timeline `loadgen churn --timeline` writes: second,churned,errors,server_rss_bytes,server_fds,...
std::vector<Sample> read_timeline(const std::string& csv, int skip_seconds) {
  std::vector<Sample> samples;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    long second = 0, churned = 0, errors = 0, rss = 0;
    if (std::sscanf(line.c_str(), "%ld,%ld,%ld,%ld", &second, &churned, &errors, &rss) != 4) continue;
    if (second >= skip_seconds && rss > 0) samples.push_back({static_cast<double>(churned), static_cast<double>(rss)});
  }
  return samples;
}

// Least-squares slope of the RSS floor against connections churned: bytes per connection. The floor of a sample is
// the least of it and its neighbours: a stall on a loaded machine piles up connections in flight (threads, buffers)
// for a second and RSS spikes with them, then falls back; a leak raises the floor and stays.
double rss_slope(const std::vector<Sample>& raw) {
  std::vector<Sample> samples = raw;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (i > 0) samples[i].rss_bytes = std::min(samples[i].rss_bytes, raw[i - 1].rss_bytes);
    if (i + 1 < raw.size()) samples[i].rss_bytes = std::min(samples[i].rss_bytes, raw[i + 1].rss_bytes);
  }
  double mean_x = 0, mean_y = 0;
  for (const auto& s : samples) {
    mean_x += s.churned;
    mean_y += s.rss_bytes;
  }
  mean_x /= static_cast<double>(samples.size());
  mean_y /= static_cast<double>(samples.size());
  double sxy = 0, sxx = 0;
  for (const auto& s : samples) {
    sxy += (s.churned - mean_x) * (s.rss_bytes - mean_y);
    sxx += (s.churned - mean_x) * (s.churned - mean_x);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

struct ChurnResult {
  int exit_code = -1;
  std::string json;
  std::vector<Sample> samples;
  double slope_bytes_per_connection = 0;
};

ChurnResult churn(const ServerProcess& server) {
  const std::string json_path = loadgen_test::temp_path("churn_test.json");
  const std::string timeline_path = loadgen_test::temp_path("churn_test.csv");
  ChurnResult r;
  const pid_t pid = loadgen_test::spawn(
      {bin("loadgen"), "churn", "--target", "127.0.0.1:" + std::to_string(server.port()), "--rate",
       std::to_string(churn_rate), "--connections", std::to_string(churn_connections), "--duration",
       std::to_string(max_churn_seconds), "--max-in-flight", std::to_string(max_in_flight), "--server-pid",
       std::to_string(server.pid()), "--json", json_path, "--timeline", timeline_path});
  r.exit_code = loadgen_test::wait_child(pid, std::chrono::seconds(max_churn_seconds + 60));
  r.json = loadgen_test::read_file(json_path);
  r.samples = read_timeline(loadgen_test::read_file(timeline_path), warmup_seconds);
  if (r.samples.size() >= 2) r.slope_bytes_per_connection = rss_slope(r.samples);
  std::remove(json_path.c_str());
  std::remove(timeline_path.c_str());
  std::printf("churn: churned %.0f errors %.0f dropped %.0f; RSS %.0f -> %.0f bytes; slope %.1f B/connection; fds %.0f "
              "-> %.0f, threads %.0f -> %.0f\n",
              json_number(r.json, "churned"), json_number(r.json, "errors"), json_number(r.json, "dropped"),
              r.samples.empty() ? 0.0 : r.samples.front().rss_bytes,
              r.samples.empty() ? 0.0 : r.samples.back().rss_bytes,
              r.slope_bytes_per_connection, json_number(r.json, "before_fds"), json_number(r.json, "after_fds"),
              json_number(r.json, "before_threads"), json_number(r.json, "after_threads"));
  return r;
}

// Threads a variant keeps parked by design ("threads --thread-cache N" keeps up to N finished connection threads for
// the next connections): not left behind, as long as they stay within that bound.
double parked_threads_allowed(const std::string& backend) {
  const auto at = backend.find("--thread-cache ");
  return at == std::string::npos ? 0 : std::strtod(backend.c_str() + at + 15, nullptr);
}

class Churn : public ::testing::TestWithParam<std::string> {};

TEST_P(Churn, NoLeakPerConnection) {
  ServerConfig config;
  config.backend = GetParam();
  ServerProcess server(config);
  const ChurnResult r = churn(server);
  ASSERT_FALSE(r.json.empty()) << "loadgen churn wrote no record (exit " << r.exit_code << ")";
  EXPECT_GE(json_number(r.json, "churned"), min_churned);
  EXPECT_EQ(json_number(r.json, "errors"), 0);
  ASSERT_GE(r.samples.size(), static_cast<std::size_t>(churn_seconds - warmup_seconds - 2)) << "too few samples";
  EXPECT_LT(r.slope_bytes_per_connection, max_rss_bytes_per_connection) << "RSS grows with every connection churned";
  // Descriptors and threads back to their idle counts (loadgen churn waited up to its settle budget for that).
  EXPECT_LE(json_number(r.json, "after_fds"), json_number(r.json, "before_fds") + fds_allowed) << "fds left behind";
  EXPECT_LE(json_number(r.json, "after_threads"),
            json_number(r.json, "before_threads") + pool_threads_allowed + parked_threads_allowed(GetParam()))
      << "threads left behind";
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, Churn, ::testing::ValuesIn(ServerProcess::list_backends()), test_name_for);
INSTANTIATE_TEST_SUITE_P(Variants, Churn, ::testing::ValuesIn(ServerProcess::list_variants({"http"})), test_name_for);

// The judgement can fail: the same run with a deliberate leak of 1 KiB per connection must exceed the bound.
TEST(ChurnLeak, LeakOf1KiBPerConnectionIsCaught) {
  ServerConfig config;
  config.backend = "coro";
  config.extra_args = {"--leak-per-connection", "1024"};
  ServerProcess server(config);
  const ChurnResult r = churn(server);
  ASSERT_GE(json_number(r.json, "churned"), min_churned);
  EXPECT_GT(r.slope_bytes_per_connection, max_rss_bytes_per_connection) << "a 1 KiB leak per connection went unseen";
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

}  // namespace
}  // namespace tvt::test
