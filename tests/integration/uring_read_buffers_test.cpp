// The uring back end's read buffers are one pool for the whole process (runtimes/uring/buffer_ring.hpp). Every buffer
// in the ring becomes resident in turn, so a pool that grows keeps what it grew to: a loop that once ran late (a
// connect burst on a busy machine) would carry that memory while idle from then on, and bench_all's idle figure for
// uring would follow the machine's load (a gate run on a busy machine: 295 -> 1,257 B per connection at 1,000).
//
// The burst is made deterministic here: the server is stopped (SIGSTOP) while every client connects and sends its
// request, so when it runs again every accept, and every first request, is already there at once.
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "support/proc_stats.hpp"
#include "support/raw_client.hpp"
#include "support/server_process.hpp"

namespace tvt::test {
namespace {

using namespace std::chrono_literals;

constexpr int burst = 600;                      // well past the pool's 64 buffers, well under the accept backlog
constexpr std::size_t pool_bytes = 64 * 2048;   // the whole pool, once every buffer has been used
constexpr std::size_t per_connection = 1024;    // generous: uring's connection costs ~170 B, its slot included

TEST(UringReadBuffers, AConnectBurstOnALateLoopLeavesNoLastingGrowth) {
  ServerConfig config;
  config.backend = "uring";
  config.workload = "echo";
  ServerProcess server(config);
  ASSERT_EQ(fresh_client_round_trip(server.port(), "echo"), "") << server.stderr_text();
  const auto before = vm_rss_bytes(server.pid());
  ASSERT_TRUE(before);

  ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);
  std::vector<RawClient> clients;
  for (int i = 0; i < burst; ++i) {
    auto client = RawClient::connect(server.port(), {.timeout = 1000ms});
    if (!client) break;
    if (client->send_nonblocking("burst\n") != 6) break;
    clients.push_back(std::move(*client));
  }
  ASSERT_EQ(::kill(server.pid(), SIGCONT), 0);
  ASSERT_EQ(clients.size(), static_cast<std::size_t>(burst)) << "the kernel did not queue the burst";
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const auto reply = clients[i].read_until("\n", 5000ms);
    ASSERT_EQ(reply.bytes, "burst\n") << "connection " << i << ": " << name(reply.end) << "\n" << server.stderr_text();
  }

  const auto after = vm_rss_bytes(server.pid());
  ASSERT_TRUE(after);
  const std::size_t grown = *after > *before ? *after - *before : 0;
  std::printf("[uring_read_buffers] burst=%d rss grew %zu B (%zu B per connection)\n", burst, grown,
              grown / static_cast<std::size_t>(burst));
  // A pool that grew to 512 buffers would add 896 KiB more than its 128 KiB: far over this bound at 600 connections.
  EXPECT_LE(grown, pool_bytes + burst * per_connection)
      << "the read-buffer pool grew with the burst and stays resident";
  clients.clear();
  const auto exit = server.stop();
  EXPECT_TRUE(exit.clean()) << describe(exit) << "\n" << server.stderr_text();
}

}  // namespace
}  // namespace tvt::test
