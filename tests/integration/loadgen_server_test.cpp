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

TEST(LoadgenServer, CostOfTheWorkIsMeasuredOverTheWindow) {
  // A thread per connection: 50 server threads, every one created before the window, all counted.
  Server server("http");
  const auto run = run_loadgen({"--target", server.target(), "--workload", "http", "--connections", "50",
                                "--duration", "1.5", "--warmup", "0.2", "--server-pid", std::to_string(server.pid())},
                               std::chrono::seconds(60));
  ASSERT_EQ(run.exit_code, 0) << run.json;
  // The server did work, so its CPU per request is positive and a core at most 2 can be busy (this machine).
  EXPECT_GT(json_number(run.json, "server_cpu_us_per_op"), 0) << run.json;
  EXPECT_GT(json_number(run.json, "server_cpu_util"), 0);
  EXPECT_GT(json_number(run.json, "client_cpu_util"), 0);
  const std::string bound = json_field(run.json, "bound");
  EXPECT_TRUE(bound == "client" || bound == "server" || bound == "neither") << bound;
  // Where perf can count, every request cost the server a recv and a send (perf's window opens and closes over its
  // control pipe, a fraction of a millisecond off the request window: hence 1.9, not 2); where it cannot, the counts
  // are empty and the note says why.
  if (json_field(run.json, "cost_note").empty()) {
    EXPECT_GE(json_number(run.json, "syscalls_per_op"), 1.9) << run.json;
    EXPECT_GT(json_number(run.json, "ctx_switches_per_op"), 0.1);  // a thread per connection blocks per request
    EXPECT_GE(json_number(run.json, "waits_per_op"), 0);
  } else {
    EXPECT_EQ(json_field(run.json, "syscalls_per_op"), "null");
  }
  EXPECT_EQ(json_field(run.json, "instructions_per_op"), "null");
}

TEST(LoadgenServer, OpenLoopPoissonReportsItsScheduleKeeping) {
  Server server("echo", "coro-local");
  const auto run = run_loadgen({"--target", server.target(), "--workload", "echo", "--connections", "20",
                                "--mode", "open", "--rate", "2000", "--arrivals", "poisson", "--seed", "5",
                                "--duration", "2", "--server-pid", std::to_string(server.pid())},
                               std::chrono::seconds(60));
  ASSERT_EQ(run.exit_code, 0) << run.json;
  EXPECT_EQ(json_field(run.json, "arrivals"), "poisson");
  EXPECT_NEAR(json_number(run.json, "achieved_rate"), 2000, 2000 * 0.1);
  // The p-value is a probability; late sends are a count of the ~4,000 sends, the worst lateness is >= 0.
  const double p = json_number(run.json, "arrivals_fit_p");
  EXPECT_GE(p, 0) << run.json;
  EXPECT_LE(p, 1);
  EXPECT_GE(json_number(run.json, "late_sends"), 0);
  EXPECT_LT(json_number(run.json, "late_sends"), 5000);
  EXPECT_GE(json_number(run.json, "worst_lateness_us"), 0);
  EXPECT_GT(json_number(run.json, "server_cpu_us_per_op"), 0);
}

}  // namespace
