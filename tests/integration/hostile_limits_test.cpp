// Servers at their resource limits (issue 9): out of file descriptors (every back end) and, for the threads back end,
// out of threads. Each case runs the real server under a lowered limit set in the child before exec, and the fixture's
// after-case checks (fds and memory back to idle, a fresh client served, clean SIGTERM) apply as everywhere else.
#include <unistd.h>

#include <thread>

#include "hostile_fixture.hpp"

namespace tvt::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class HostileLimits : public Hostile {};

// Opens connections one at a time, each proven served by a round trip, until one is not (or `max` are held).
// Returns the served ones; `rejected` gets the first that was not.
std::vector<RawClient> hold_until_refused(std::uint16_t port, std::string_view workload, int max,
                                          std::optional<RawClient>& rejected) {
  std::vector<RawClient> held;
  for (int i = 0; i < max; ++i) {
    auto client = RawClient::connect(port, {.timeout = 1000ms});
    if (!client) break;
    if (!round_trip(*client, workload, 700ms).empty()) {
      rejected = std::move(client);
      break;
    }
    held.push_back(std::move(*client));
  }
  return held;
}

// Retries a fresh client until one is served or the deadline passes (descriptors and threads are freed
// asynchronously after their clients leave).
bool served_again_within(std::uint16_t port, std::string_view workload, std::chrono::milliseconds deadline) {
  return eventually([&] { return fresh_client_round_trip(port, workload, 500ms).empty(); }, deadline, 50ms);
}

// RLIMIT_NOFILE 64: hold connections until the server can take no more, then keep connecting for a second. The
// server must keep serving the held connections, must not spin on a listener it cannot accept from (its CPU time over
// that second is measured: a spinning accept loop burns the whole second), and must accept again once descriptors
// free up.
TEST_P(HostileLimits, OutOfFileDescriptors) {
  ServerConfig config;
  config.max_open_files = 64;
  auto& server = start("echo", {}, config);
  std::optional<RawClient> first_refused;
  auto held = hold_until_refused(server.port(), "echo", 200, first_refused);
  ASSERT_TRUE(first_refused) << "the server served " << held.size() << " connections with RLIMIT_NOFILE 64";
  ASSERT_GE(held.size(), 20u) << "the server hit its fd limit long before it should";
  const auto fds_at_limit = open_fd_count(server.pid()).value_or(0);

  // The flood: 100 connections at once, then one more every 10 ms for a second while the held ones keep talking.
  std::vector<RawClient> flood;
  for (int i = 0; i < 100; ++i)
    if (auto c = RawClient::connect(server.port(), {.timeout = 500ms})) flood.push_back(std::move(*c));
  const auto cpu_before = cpu_time(server.pid()).value_or(std::chrono::duration<double>(0));
  const auto window_start = Clock::now();
  int held_failures = 0;
  for (int tick = 0; Clock::now() - window_start < 1000ms; ++tick) {
    if (auto c = RawClient::connect(server.port(), {.timeout = 100ms})) flood.push_back(std::move(*c));
    if (!round_trip(held[static_cast<std::size_t>(tick) % held.size()], "echo", 1000ms).empty()) ++held_failures;
    std::this_thread::sleep_for(10ms);
  }
  const std::chrono::duration<double> window = Clock::now() - window_start;
  const auto cpu_used = cpu_time(server.pid()).value_or(std::chrono::duration<double>(0)) - cpu_before;
  EXPECT_EQ(held_failures, 0) << "existing connections were not served during the flood";
  // Spinning costs ~1 CPU-second per second; shedding or backing off costs a few milliseconds.
  EXPECT_LT(cpu_used.count(), 0.3 * window.count()) << "the server burns CPU while out of descriptors";
  for (std::size_t i = 0; i < held.size(); ++i) {
    const auto error = round_trip(held[i], "echo", 1000ms);
    if (!error.empty()) {  // one is enough (and keeps a broken server from costing a second per connection)
      ADD_FAILURE() << "held connection " << i << " after the flood: " << error;
      break;
    }
  }
  int shed = 0;
  for (auto& c : flood) shed += c.peer_closed_now() ? 1 : 0;
  const auto flood_size = flood.size();
  EXPECT_TRUE(server.running());

  // Free descriptors: the server accepts again.
  flood.clear();
  first_refused.reset();
  for (int i = 0; i < 10; ++i) held.pop_back();
  const auto recover_start = Clock::now();
  EXPECT_TRUE(served_again_within(server.port(), "echo", 3000ms)) << "the server did not accept again";
  const auto recover_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - recover_start);
  report("held=" + std::to_string(held.size() + 10) + " fds_at_limit=" + std::to_string(fds_at_limit) +
         " flood=" + std::to_string(flood_size) + " closed_by_server=" + std::to_string(shed) +
         " cpu_in_flood_ms=" + std::to_string(static_cast<long>(cpu_used.count() * 1000)) + " window_ms=" +
         std::to_string(static_cast<long>(window.count() * 1000)) + " recover_ms=" + std::to_string(recover_ms.count()));
  held.clear();
}

// The threads back end when pthread_create fails: the server runs as an otherwise unused user with RLIMIT_NPROC 8, so
// its 7th or so connection thread cannot start. That connection must be closed (not left hanging), the others served,
// and a new connection served once a thread has ended.
TEST_P(HostileLimits, ThreadCreationFailureRejectsCleanly) {
  if (backend().rfind("threads", 0) != 0) GTEST_SKIP() << "only the threads back end starts a thread per connection";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run the server as a fresh user (root ignores RLIMIT_NPROC)";
  ServerConfig config;
  config.thread_limit = ThreadLimit{static_cast<uid_t>(61000 + ::getpid() % 1000), 8};
  auto& server = start("echo", {}, config);
  std::optional<RawClient> refused;
  auto held = hold_until_refused(server.port(), "echo", 50, refused);
  ASSERT_TRUE(refused) << "served " << held.size() << " connections under RLIMIT_NPROC 8";
  EXPECT_GE(held.size(), 1u);
  const auto refused_end = refused->read_until_closed(2000ms);
  EXPECT_TRUE(refused_end.end == ReadEnd::eof || refused_end.end == ReadEnd::reset)
      << "the connection without a thread was left open (" << name(refused_end.end) << ")";
  for (std::size_t i = 0; i < held.size(); ++i) EXPECT_EQ(round_trip(held[i], "echo"), "") << "held connection " << i;
  EXPECT_NE(server.stderr_text().find("cannot start a thread"), std::string::npos) << server.stderr_text();
  const auto threads_at_limit = thread_count(server.pid()).value_or(0);

  held.pop_back();
  EXPECT_TRUE(served_again_within(server.port(), "echo", 3000ms)) << "no new connection served after a thread ended";
  report("served_at_limit=" + std::to_string(held.size() + 1) + " threads_at_limit=" +
         std::to_string(threads_at_limit) + " refused_connection=" + name(refused_end.end));
  held.clear();
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, HostileLimits, ::testing::ValuesIn(backends_under_test()), test_name_for);
INSTANTIATE_TEST_SUITE_P(Variants, HostileLimits, ::testing::ValuesIn(test::ServerProcess::list_variants({"http", "echo"})),
                         test_name_for);

}  // namespace
}  // namespace tvt::test
