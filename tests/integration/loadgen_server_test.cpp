// Real server + real loadgen over loopback: every reply verified, zero errors, and the numbers add up.
#include <gtest/gtest.h>

#include "loadgen_harness.hpp"

namespace {

using namespace tvt::loadgen_test;

TEST(LoadgenServer, Http200ConnectionsEveryReplyVerified) {
  Server server("http");
  const auto run = run_loadgen({"--target", server.target(), "--workload", "http", "--connections", "200",
                                "--duration", "2", "--warmup", "0.5", "--threads", "2", "--server-pid",
                                std::to_string(server.pid())},
                               std::chrono::seconds(30));
  ASSERT_EQ(run.exit_code, 0) << run.json;
  EXPECT_EQ(json_field(run.json, "status"), "ok") << json_field(run.json, "reason");
  EXPECT_EQ(json_number(run.json, "connections_established"), 200);
  EXPECT_EQ(json_number(run.json, "errors"), 0);
  EXPECT_GT(json_number(run.json, "requests"), 200);
  EXPECT_GT(json_number(run.json, "p99_us"), 0);
  EXPECT_GE(json_number(run.json, "server_fds_peak"), 200 + json_number(run.json, "server_fds_idle"));
  EXPECT_EQ(json_field(run.json, "fd_leak"), "false") << run.json;
  // A thread per connection: the server ran at least one thread per connection during the run.
  EXPECT_GE(json_number(run.json, "server_threads"), 200);
}

TEST(LoadgenServer, Echo200ConnectionsEveryReplyVerified) {
  Server server("echo");
  const auto run = run_loadgen({"--target", server.target(), "--workload", "echo", "--connections", "200",
                                "--duration", "1.5", "--threads", "2"},
                               std::chrono::seconds(30));
  ASSERT_EQ(run.exit_code, 0) << run.json;
  EXPECT_EQ(json_field(run.json, "status"), "ok") << json_field(run.json, "reason");
  EXPECT_EQ(json_number(run.json, "connections_established"), 200);
  EXPECT_EQ(json_number(run.json, "errors"), 0);
  EXPECT_GT(json_number(run.json, "requests"), 200);
}

TEST(LoadgenServer, WrongWorkloadIsCountedAsBadRepliesNotHidden) {
  // An echo server answering http requests: every reply is wrong, and loadgen must say so.
  Server server("echo");
  const auto run = run_loadgen({"--target", server.target(), "--workload", "http", "--connections", "5",
                                "--duration", "1", "--timeout-ms", "300"},
                               std::chrono::seconds(30));
  EXPECT_EQ(json_number(run.json, "requests"), 0);
  EXPECT_GT(json_number(run.json, "errors_bad_reply") + json_number(run.json, "errors_timeout"), 0);
  EXPECT_EQ(json_field(run.json, "status"), "failed");
  EXPECT_EQ(run.exit_code, 1);
}

TEST(LoadgenServer, NoServerMeansConnectErrorsAndFailed) {
  // A port nobody listens on (a server that was just stopped).
  std::string target;
  {
    Server server("http");
    target = server.target();
  }
  const auto run = run_loadgen({"--target", target, "--connections", "3", "--duration", "0.5",
                                "--connect-timeout", "0.5"},
                               std::chrono::seconds(30));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(json_field(run.json, "status"), "failed");
  EXPECT_GT(json_number(run.json, "errors_connect"), 0);
  EXPECT_EQ(json_number(run.json, "connections_established"), 0);
}

TEST(LoadgenServer, WorkerProcessesAndTwoTargetsMergeExactly) {
  // 150 connections with a budget of 60 per process: three worker processes, spread over two servers.
  Server a("http"), b("http");
  const auto run = run_loadgen({"--target", a.target(), "--target", b.target(), "--connections", "150",
                                "--duration", "1.5", "--threads", "3", "--max-fds-per-process", "60",
                                "--server-pid", std::to_string(a.pid())},
                               std::chrono::seconds(30));
  ASSERT_EQ(run.exit_code, 0) << run.json;
  EXPECT_EQ(json_field(run.json, "status"), "ok") << json_field(run.json, "reason");
  EXPECT_EQ(json_number(run.json, "connections_established"), 150);
  EXPECT_EQ(json_number(run.json, "errors"), 0);
  EXPECT_GT(json_number(run.json, "requests"), 150);
  // Server a holds exactly its half.
  EXPECT_EQ(json_number(run.json, "server_fds_peak") - json_number(run.json, "server_fds_idle"), 75);
}

TEST(LoadgenServer, IdleHoldMeasuresMemoryPerConnection) {
  Server server("echo");
  const auto run = run_loadgen({"--target", server.target(), "--workload", "echo", "--mode", "idle",
                                "--connections", "300", "--hold", "1", "--server-pid", std::to_string(server.pid())},
                               std::chrono::seconds(30));
  ASSERT_EQ(run.exit_code, 0) << run.json;
  EXPECT_EQ(json_number(run.json, "connections_established"), 300);
  EXPECT_GE(json_number(run.json, "server_threads"), 300);  // a thread per held connection
  // A thread per connection costs at least one touched stack page of user memory.
  EXPECT_GT(json_number(run.json, "rss_per_conn_bytes"), 4096);
  EXPECT_GE(json_number(run.json, "server_fds_peak"), 300);
  EXPECT_GT(json_number(run.json, "connect_time_s"), 0);
}

}  // namespace
