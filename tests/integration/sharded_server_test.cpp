// server --shards N (runtimes/server/supervisor.hpp): N processes of one back end on one port. The kernel spreads
// connections over every shard, every shard serves, SIGTERM stops them all cleanly, a shard that dies is reported and
// takes the supervisor down with a non-zero exit: on every back end, the peers (Go, Rust) included, whose executables
// serve the socket they are given with --listen-fd.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "support/proc_stats.hpp"
#include "support/raw_client.hpp"
#include "support/server_process.hpp"

namespace tvt::test {
namespace {

using namespace std::chrono_literals;

constexpr int shard_count = 3;
constexpr int connections = 60;  // a shard gets none with probability 3 * (2/3)^60, about 1e-10

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> pids;
  for (pid_t child = 0; in >> child;) pids.push_back(child);
  return pids;
}

bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

class ShardedServer : public ::testing::TestWithParam<std::string> {
 protected:
  ServerConfig config() const {
    ServerConfig c;
    c.backend = GetParam();
    c.extra_args = {"--shards", std::to_string(shard_count)};
    return c;
  }
};

TEST_P(ShardedServer, EveryShardServesAndSigtermStopsThemAll) {
  ServerProcess server(config());
  const auto shards = children_of(server.pid());
  ASSERT_EQ(shards.size(), static_cast<std::size_t>(shard_count)) << server.stderr_text();
  std::vector<std::size_t> idle;
  for (const pid_t shard : shards) idle.push_back(open_fd_count(shard).value_or(0));

  std::vector<RawClient> clients;
  for (int i = 0; i < connections; ++i) {
    auto client = RawClient::connect(server.port());
    ASSERT_TRUE(client) << "connection " << i;
    ASSERT_TRUE(client->send_all(http_get));
    const auto reply = client->read_until("Hello, World!", 3000ms);
    ASSERT_NE(reply.bytes.find("HTTP/1.1 200 OK"), std::string::npos) << "connection " << i;
    clients.push_back(std::move(*client));
  }
  // Each shard holds some of the (still open) connections: the kernel spread them, and each one served.
  for (std::size_t i = 0; i < shards.size(); ++i)
    EXPECT_TRUE(eventually([&] { return open_fd_count(shards[i]).value_or(0) > idle[i]; }, 3000ms))
        << "shard " << i << " (pid " << shards[i] << ") holds no connection";

  const ExitReport report = server.stop(3000ms);
  EXPECT_TRUE(report.clean()) << describe(report) << "\n" << server.stderr_text();
  for (const pid_t shard : shards) EXPECT_TRUE(gone(shard)) << "shard " << shard << " outlived its supervisor";
}

TEST_P(ShardedServer, AKilledShardIsReportedAndStopsTheServer) {
  ServerProcess server(config());
  const auto shards = children_of(server.pid());
  ASSERT_EQ(shards.size(), static_cast<std::size_t>(shard_count));
  ASSERT_EQ(::kill(shards[1], SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !server.running(); }, 5000ms)) << "the supervisor went on without a shard";
  const ExitReport report = server.stop();
  EXPECT_TRUE(report.exited);
  EXPECT_NE(report.exit_code, 0) << describe(report);
  const std::string said = server.stderr_text();
  EXPECT_NE(said.find("shard 1 of 3 (pid " + std::to_string(shards[1]) + ") was killed by signal 9 (SIGKILL)"),
            std::string::npos)
      << said;
  for (const pid_t shard : shards) EXPECT_TRUE(eventually([&] { return gone(shard); }, 3000ms)) << shard;
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, ShardedServer, ::testing::ValuesIn(ServerProcess::list_backends()),
                         test_name_for);

}  // namespace
}  // namespace tvt::test
