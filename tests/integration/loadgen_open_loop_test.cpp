// Coordinated omission made visible: an open-loop run against a server stopped with SIGSTOP for 1 s. Requests due
// during the stall are late by up to a second (corrected latency, from the intended send), while the few requests
// actually in flight are all that the uncorrected view sees.
#include <gtest/gtest.h>

#include "loadgen_harness.hpp"

namespace {

using namespace tvt::loadgen_test;

TEST(LoadgenOpenLoop, SigstopStallShowsInCorrectedNotUncorrected) {
  Server server("http");
  const std::string path = temp_path("loadgen_sigstop.json");
  // 20 connections, 2000 requests/s, 4 s measured after 0.5 s warmup; the stall starts ~2 s after launch.
  const pid_t loadgen = start_loadgen({"--target", server.target(), "--mode", "open", "--rate", "2000",
                                       "--connections", "20", "--duration", "4", "--warmup", "0.5"},
                                      path);
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  ::kill(server.pid(), SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ::kill(server.pid(), SIGCONT);
  ASSERT_EQ(wait_child(loadgen, std::chrono::seconds(20)), 0);
  const std::string json = read_file(path);
  std::remove(path.c_str());
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json_number(json, "errors"), 0) << json;
  const double corrected_p999 = json_number(json, "p999_us");
  const double corrected_p99 = json_number(json, "p99_us");
  const double uncorrected_p99 = json_number(json, "uncorrected_p99_us");
  const double uncorrected_p50 = json_number(json, "uncorrected_p50_us");
  std::printf("corrected p99 %.0f us, p99.9 %.0f us; uncorrected p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n",
              corrected_p99, corrected_p999, uncorrected_p50, uncorrected_p99,
              json_number(json, "uncorrected_p999_us"));
  EXPECT_GE(corrected_p999, 500'000) << json;
  // Only the ~20 requests in flight when the server stopped saw the stall: under 1 % of the ~8,000.
  EXPECT_LT(uncorrected_p99, 100'000) << json;
  EXPECT_LT(uncorrected_p50, 50'000) << json;
  // The schedule caught up after the stall: the rate was reached and nothing was dropped.
  EXPECT_GE(json_number(json, "achieved_rate"), 0.95 * 2000) << json;
}

}  // namespace
