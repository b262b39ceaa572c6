// The uring back end's reason to exist (issue 5: 40,000 connections across two server processes when each process is
// capped at 20,000 open files): its connections live in io_uring's fixed-file table, not in the process's fd table.
//
// Under RLIMIT_NOFILE = 256, a server that keeps connections as file descriptors can hold at most 256 - 3 (stdio)
// - 1 (the listener) = 252 of them, before counting its own epoll/eventfd descriptors. So 253 connections, each
// proven served by an echo, are more than any fd-table back end can hold under that limit: uring must hold them all
// with a handful of fds, and coro-local (the fd-table control) must fail to, which is what shows this test can fail.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/proc_stats.hpp"
#include "support/raw_client.hpp"
#include "support/server_process.hpp"

namespace tvt::test {
namespace {

using namespace std::chrono_literals;

constexpr rlim_t open_file_limit = 256;
constexpr int connections = static_cast<int>(open_file_limit) - 3 - 1 + 1;  // one more than any fd table can hold

struct Held {
  std::vector<RawClient> clients;
  int first_failure = -1;  // index of the first connection that was not served, -1 if all were
  std::string failure;
};

// Entries of /proc/PID/fd only (open_fd_count adds the fixed-file table, which is the point here to keep apart).
std::size_t fd_table_entries(pid_t pid) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++count;
  return count;
}

// Opens `connections` connections, each proven served by an echo round trip; stops at the first that is not.
Held hold_and_echo(std::uint16_t port) {
  Held held;
  for (int i = 0; i < connections; ++i) {
    auto client = RawClient::connect(port, {.timeout = 1000ms});
    if (!client) {
      held.first_failure = i;
      held.failure = "connect failed";
      break;
    }
    const auto error = round_trip(*client, "echo", 1000ms);
    if (!error.empty()) {
      held.first_failure = i;
      held.failure = error;
      break;
    }
    held.clients.push_back(std::move(*client));
  }
  return held;
}

// An echo server of `backend` whose process may open `open_file_limit` files.
ServerConfig limited_echo_server(const char* backend) {
  ServerConfig config;
  config.backend = backend;
  config.workload = "echo";
  config.max_open_files = open_file_limit;
  return config;
}

TEST(UringFdTable, HoldsMoreConnectionsThanItsOpenFileLimitLeavesFds) {
  ServerProcess server(limited_echo_server("uring"));
  auto held = hold_and_echo(server.port());
  ASSERT_EQ(held.first_failure, -1) << "connection " << held.first_failure << " was not served: " << held.failure
                                    << "\n" << server.stderr_text();
  // Every held connection still answers (none was shed once the next ones came in).
  for (std::size_t i = 0; i < held.clients.size(); ++i) {
    const auto error = round_trip(held.clients[i], "echo", 1000ms);
    ASSERT_EQ(error, "") << "held connection " << i << " after all were open";
  }
  // The process's fd table holds only its own few descriptors (stdio, listener, eventfd, the ring)...
  const std::size_t fds = fd_table_entries(server.pid());
  // ...and the connections are in the ring's fixed-file table (fdinfo lists them when the ring is idle).
  std::size_t listed = 0;
  eventually(
      [&] {
        listed = fixed_file_count(server.pid()).value_or(0);
        return listed >= static_cast<std::size_t>(connections);
      },
      2000ms);
  EXPECT_GE(listed, static_cast<std::size_t>(connections)) << "fixed files listed in the ring's fdinfo";
  std::printf("[uring_fd_table] backend=uring limit=%llu connections=%d fds=%zu fixed_files=%zu\n",
              static_cast<unsigned long long>(open_file_limit), connections, fds, listed);
  EXPECT_LE(fds, 16u) << "the connections are in the fd table";
  held.clients.clear();
  const auto exit = server.stop();
  EXPECT_TRUE(exit.clean()) << describe(exit) << "\n" << server.stderr_text();
}

// The control: the same count under the same limit against a back end whose connections are file descriptors.
TEST(UringFdTable, AnFdTableBackendCannotHoldAsManyUnderTheSameLimit) {
  ServerProcess server(limited_echo_server("coro-local"));
  auto held = hold_and_echo(server.port());
  EXPECT_NE(held.first_failure, -1) << "coro-local served " << connections << " connections with RLIMIT_NOFILE "
                                    << open_file_limit << ": the limit is not what bounds it, so the uring case "
                                    << "proves nothing";
  EXPECT_LE(held.clients.size(), static_cast<std::size_t>(connections - 1));
  std::printf("[uring_fd_table] backend=coro-local limit=%llu held=%zu first_refused=%d\n",
              static_cast<unsigned long long>(open_file_limit), held.clients.size(), held.first_failure);
  held.clients.clear();
  const auto exit = server.stop();
  EXPECT_TRUE(exit.clean()) << describe(exit) << "\n" << server.stderr_text();
}

}  // namespace
}  // namespace tvt::test
