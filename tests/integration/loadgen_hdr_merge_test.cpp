// Two loadgen instances against one server, each writing an HdrHistogram interval log: `loadgen merge` of both
// logs counts every request of both runs, and its percentiles equal those of the two in-memory histograms merged.
#include <gtest/gtest.h>

#include <cstdio>

#include "loadgen/hdr_log.hpp"
#include "loadgen_harness.hpp"

namespace {

using namespace tvt::loadgen_test;
using tvt::loadgen::Histogram;

Histogram log_total(const std::string& path) {
  std::size_t bad = 0;
  const auto log = tvt::loadgen::hdr_log_read(path, bad);
  EXPECT_TRUE(log);
  EXPECT_EQ(bad, 0u);
  Histogram total;
  if (log)
    for (const auto& i : log->intervals) total.add(i.histogram);
  return total;
}

std::string run_capture(const std::vector<std::string>& args) {
  int out = -1;
  const pid_t pid = spawn(args, &out);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(out);
  EXPECT_EQ(wait_child(pid, std::chrono::seconds(10)), 0);
  return text;
}

// The number after "<key> " at the start of a line of `loadgen merge` output (-1 if absent).
long long field(const std::string& text, const std::string& key) {
  std::string needle = key;
  needle.push_back(' ');
  for (std::size_t at = 0; at < text.size();) {
    if (text.compare(at, needle.size(), needle) == 0) return std::atoll(text.c_str() + at + needle.size());
    const auto nl = text.find('\n', at);
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return -1;
}

TEST(LoadgenHdrMerge, TwoInstancesLogsMergeToTheSumAndTheSamePercentiles) {
  Server server("echo");
  const std::string log_a = temp_path("loadgen_a.hlog"), log_b = temp_path("loadgen_b.hlog");
  const std::string json_a = temp_path("loadgen_a.json"), json_b = temp_path("loadgen_b.json");
  const std::vector<std::string> common = {"--target", server.target(), "--workload", "echo", "--connections",
                                           "10", "--duration", "2"};
  auto args_a = common, args_b = common;
  args_a.insert(args_a.end(), {"--hdr-log", log_a});
  args_b.insert(args_b.end(), {"--hdr-log", log_b, "--think-time-ms", "1"});
  const pid_t a = start_loadgen(args_a, json_a), b = start_loadgen(args_b, json_b);
  ASSERT_EQ(wait_child(a, std::chrono::seconds(20)), 0);
  ASSERT_EQ(wait_child(b, std::chrono::seconds(20)), 0);
  const std::string ja = read_file(json_a), jb = read_file(json_b);

  const Histogram ha = log_total(log_a), hb = log_total(log_b);
  // Each log holds exactly what its run reported.
  EXPECT_EQ(ha.count(), json_number(ja, "requests"));
  EXPECT_EQ(hb.count(), json_number(jb, "requests"));
  EXPECT_EQ(ha.percentile(99), json_number(ja, "p99_us"));
  EXPECT_EQ(hb.max(), json_number(jb, "max_us"));

  Histogram in_memory;
  in_memory.add(ha);
  in_memory.add(hb);
  const std::string merged = run_capture({bin("loadgen"), "merge", log_a, log_b});
  EXPECT_EQ(field(merged, "count"), ha.count() + hb.count()) << merged;
  EXPECT_EQ(field(merged, "count"), json_number(ja, "requests") + json_number(jb, "requests"));
  EXPECT_EQ(field(merged, "p50_us"), in_memory.percentile(50)) << merged;
  EXPECT_EQ(field(merged, "p99_us"), in_memory.percentile(99)) << merged;
  EXPECT_EQ(field(merged, "p99.9_us"), in_memory.percentile(99.9)) << merged;
  EXPECT_EQ(field(merged, "max_us"), in_memory.max()) << merged;
  for (const auto& p : {log_a, log_b, json_a, json_b}) std::remove(p.c_str());
}

}  // namespace
