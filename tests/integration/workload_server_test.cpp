// Every workload against a real server, on every registered back end: exact http replies with keep-alive and
// pipelining, echo lines, a short wrk run without errors; chat membership, delivery to every member exactly once and
// in each sender's order, LEAVE, bad input, the slow-consumer policy with bounded memory, a graceful stop with chat
// connections (including a blocked writer) still open; compute digests, with and without --offload.
// (Bad input, timeouts, descriptor exhaustion and stop with open connections for echo and http: the Hostile suites.)
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/line_client.hpp"
#include "protocol/compute.hpp"
#include "support/proc_stats.hpp"
#include "support/raw_client.hpp"
#include "support/server_process.hpp"

namespace tvt::testing {
namespace {

using namespace std::chrono_literals;

class WorkloadServer : public ::testing::TestWithParam<std::string> {
 protected:
  test::ServerProcess start(const std::string& workload, std::vector<std::string> extra_args = {}) {
    test::ServerConfig config;
    config.backend = GetParam();
    config.workload = workload;
    config.extra_args = std::move(extra_args);
    return test::ServerProcess(config);
  }
};

// Resident memory of a running server (0 if it is gone).
long rss_bytes(const test::ServerProcess& server) {
  return static_cast<long>(test::vm_rss_bytes(server.pid()).value_or(0));
}

TEST_P(WorkloadServer, HttpKeepAliveAndPipelining) {
  auto server = start("http");
  Client c(server.port());
  const std::string reply(test::http_ok_reply);
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got;
  while (got.size() < reply.size()) {
    const auto more = c.drain(300ms);
    if (more.empty()) break;
    got += more;
  }
  EXPECT_EQ(got, reply);
  c.send("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  got.clear();
  while (got.size() < 2 * reply.size()) {
    const auto more = c.drain(300ms);
    if (more.empty()) break;
    got += more;
  }
  EXPECT_EQ(got, reply + reply);
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

TEST_P(WorkloadServer, EchoLinesComeBackInOrder) {
  auto server = start("echo");
  Client c(server.port());
  c.send("one\ntwo\n");
  EXPECT_EQ(c.read_lines(2), (std::vector<std::string>{"one", "two"}));
  c.send("three\n");
  EXPECT_EQ(c.read_lines(1), std::vector<std::string>{"three"});
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

TEST_P(WorkloadServer, WrkRunsWithoutErrors) {
  if (::access("/usr/bin/wrk", X_OK) != 0) GTEST_SKIP() << "wrk not installed";
  auto server = start("http");
  const std::string cmd = "wrk -t1 -c100 -d1s http://127.0.0.1:" + std::to_string(server.port()) + "/ 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) output += buf;
  EXPECT_EQ(::pclose(p), 0) << output;
  EXPECT_NE(output.find("Requests/sec"), std::string::npos) << output;
  EXPECT_EQ(output.find("Socket errors"), std::string::npos) << output;
  EXPECT_EQ(output.find("Non-2xx"), std::string::npos) << output;
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

std::vector<std::string> join(Client& c, const std::string& group) {
  c.send("JOIN " + group + "\n");
  return c.read_lines(1);
}

TEST_P(WorkloadServer, MessagesReachEveryMemberOnceAndLeaveStopsDelivery) {
  auto server = start("chat");
  Client a(server.port()), b(server.port()), c(server.port());
  EXPECT_EQ(join(a, "g"), std::vector<std::string>{"JOINED g"});
  EXPECT_EQ(join(b, "g"), std::vector<std::string>{"JOINED g"});
  EXPECT_EQ(join(c, "other"), std::vector<std::string>{"JOINED other"});

  a.send("MSG g 1:0:12345 hello\n");
  EXPECT_EQ(a.read_lines(1), std::vector<std::string>{"MSG g 1:0:12345 hello"});
  EXPECT_EQ(b.read_lines(1), std::vector<std::string>{"MSG g 1:0:12345 hello"});

  b.send("LEAVE g\n");
  EXPECT_EQ(b.read_lines(1), std::vector<std::string>{"LEFT g"});
  a.send("MSG g after\n");
  EXPECT_EQ(a.read_lines(1), std::vector<std::string>{"MSG g after"});
  EXPECT_EQ(b.drain(), "");  // left: nothing more, and no duplicate of the first message
  EXPECT_EQ(c.drain(), "");  // another group: nothing at all
  EXPECT_EQ(a.drain(), "");
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

TEST_P(WorkloadServer, ManySendersEachMessageExactlyOnceInSenderOrder) {
  auto server = start("chat");
  constexpr int members = 4, per_sender = 300;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < members; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    ASSERT_EQ(join(*clients.back(), "room"), std::vector<std::string>{"JOINED room"});
  }
  std::vector<std::thread> senders;
  for (int i = 0; i < members; ++i)
    senders.emplace_back([&, i] {
      std::string batch;
      for (int seq = 0; seq < per_sender; ++seq) batch += "MSG room " + std::to_string(i) + ":" + std::to_string(seq) + ":0\n";
      clients[i]->send(batch);
    });
  for (auto& t : senders) t.join();
  for (int i = 0; i < members; ++i) {
    const auto lines = clients[i]->read_lines(members * per_sender, 20s);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(members * per_sender)) << "member " << i;
    std::map<int, int> next_seq;  // per sender: every message once, in order
    for (const auto& line : lines) {
      int sender = -1, seq = -1;
      ASSERT_EQ(std::sscanf(line.c_str(), "MSG room %d:%d:0", &sender, &seq), 2) << line;
      ASSERT_EQ(seq, next_seq[sender]) << "sender " << sender << " at member " << i;
      ++next_seq[sender];
    }
    EXPECT_EQ(next_seq.size(), static_cast<std::size_t>(members));
    EXPECT_EQ(clients[i]->drain(), "");
  }
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

TEST_P(WorkloadServer, BadInputGetsErrAndTheConnectionStaysOpen) {
  auto server = start("chat", {"--max-line", "64"});
  Client a(server.port());
  a.send("HELLO\nJOIN bad.name\nMSG nogroup x\nMSG g\n");
  EXPECT_EQ(a.read_lines(4), (std::vector<std::string>{"ERR unknown command", "ERR bad group name",
                                                       "ERR not a member",
                                                       "ERR MSG needs a group, a space and a payload"}));
  EXPECT_EQ(join(a, "g"), std::vector<std::string>{"JOINED g"});
  a.send("LEAVE never-joined\n");
  EXPECT_EQ(a.read_lines(1), std::vector<std::string>{"LEFT never-joined"});
  a.send("MSG g " + std::string(100, 'x') + "\n");  // over --max-line: closed
  EXPECT_TRUE(a.closed_by_server());
  Client b(server.port());  // the server still serves
  EXPECT_EQ(join(b, "g"), std::vector<std::string>{"JOINED g"});
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

// Splits chat output into (messages for `prefix`, sum of DROPPED notices); other lines fail the test.
struct Tally {
  std::uint64_t messages = 0, dropped = 0;
  bool saw_final = false;
};
void tally(const std::vector<std::string>& lines, Tally& t) {
  for (const auto& line : lines) {
    if (line.rfind("DROPPED ", 0) == 0) {
      t.dropped += std::stoull(line.substr(8));
    } else if (line == "MSG g final") {
      t.saw_final = true;
    } else {
      ASSERT_EQ(line.rfind("MSG g 0:", 0), 0u) << line.substr(0, 40);
      ++t.messages;
    }
  }
}

// A member that never reads: messages to it are dropped and counted (DROPPED n), everyone else keeps receiving,
// and the server's memory stays bounded although far more than the outbox is sent.
TEST_P(WorkloadServer, SlowConsumerGetsDroppedNoticesAndMemoryStaysBounded) {
  auto server = start("chat");  // default outbox: 256 KiB per connection
  Client slow(server.port()), fast(server.port());
  ASSERT_EQ(join(slow, "g"), std::vector<std::string>{"JOINED g"});
  ASSERT_EQ(join(fast, "g"), std::vector<std::string>{"JOINED g"});
  const long rss_before = rss_bytes(server);

  constexpr int messages = 4000;
  constexpr int window = 8;               // the fast member never has more than 80 KB of its own messages unread
  const std::string padding(10000, 'p');  // 4000 x 10 KB = 40 MB, far beyond outbox + socket buffers
  Tally own;
  for (int sent = 0; own.messages + own.dropped < messages;) {
    while (sent < messages && sent - static_cast<int>(own.messages + own.dropped) < window)
      fast.send("MSG g 0:" + std::to_string(sent++) + ":" + padding + "\n");
    const auto lines = fast.read_lines(1, 30s);
    ASSERT_EQ(lines.size(), 1u) << "fast member stalled after " << own.messages << " messages";
    tally(lines, own);
  }
  EXPECT_EQ(own.dropped, 0u) << "a member that keeps up must not lose messages";
  const long rss_after = rss_bytes(server);
  EXPECT_LT(rss_after - rss_before, 24L << 20) << "server memory grew with the slow consumer's backlog";

  Tally slow_tally;
  auto backlog = slow.drain(500ms);  // the slow member finally reads: what was queued, then room again
  fast.send("MSG g final\n");       // a message after the drops carries the DROPPED notice for them
  backlog += slow.drain(500ms);
  std::vector<std::string> lines;
  for (std::size_t start = 0, nl; (nl = backlog.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(backlog.substr(start, nl - start));
  tally(lines, slow_tally);
  EXPECT_TRUE(slow_tally.saw_final);
  EXPECT_GT(slow_tally.dropped, 0u);
  EXPECT_EQ(slow_tally.messages + slow_tally.dropped, static_cast<std::uint64_t>(messages))
      << "lost or duplicated beyond the policy";
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

TEST_P(WorkloadServer, StopsGracefullyWithABlockedWriter) {
  auto server = start("chat");
  Client slow(server.port()), fast(server.port());
  ASSERT_EQ(join(slow, "g"), std::vector<std::string>{"JOINED g"});
  ASSERT_EQ(join(fast, "g"), std::vector<std::string>{"JOINED g"});
  const std::string padding(4000, 'p');
  std::string batch;
  for (int i = 0; i < 2000; ++i) batch += "MSG g " + padding + "\n";  // ~8 MB: the slow member's socket fills up
  std::thread sender([&] {
    try {
      fast.send(batch);
    } catch (const std::exception&) {  // the server may stop while we are still sending
    }
  });
  fast.drain(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ::shutdown(fast.fd(), SHUT_RDWR);
  sender.join();
}

TEST_P(WorkloadServer, ComputeRepliesAreTheSharedDigest) {
  auto server = start("compute");
  Client c(server.port());
  c.send("0\n1\n64\nnope\n70000\n3\n");
  const auto hex = [](std::uint64_t d) {
    std::string s;
    protocol::append_digest(s, d);
    s.pop_back();
    return s;
  };
  EXPECT_EQ(c.read_lines(6), (std::vector<std::string>{hex(protocol::compute_digest(0)), hex(protocol::compute_digest(1)),
                                                       hex(protocol::compute_digest(64)), "ERR kib must be decimal digits",
                                                       "ERR kib out of range", hex(protocol::compute_digest(3))}));
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

TEST_P(WorkloadServer, ComputeWithOffloadGivesTheSameDigests) {
  auto server = start("compute", {"--offload"});
  Client c(server.port());
  std::string batch;
  for (int i = 0; i < 50; ++i) batch += std::to_string(i % 7) + "\n";
  c.send(batch);
  const auto lines = c.read_lines(50);
  ASSERT_EQ(lines.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    std::string expected;
    protocol::append_digest(expected, protocol::compute_digest(static_cast<std::uint32_t>(i % 7)));
    expected.pop_back();
    EXPECT_EQ(lines[i], expected) << i;
  }
  EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
}

// A server has the threads its model makes and no more (runtimes/server/stop_on_signals.hpp): the one-thread back
// ends run in a single-threaded process, where glibc's malloc and the coro and fiber runtimes skip locked
// instructions. A stop-signal thread made every server multi-threaded.
TEST(ServerThreads, OneThreadBackEndsRunInASingleThreadedProcess) {
  for (const char* backend : {"asio", "fiber", "coro-local", "uring"}) {
    test::ServerConfig config;
    config.backend = backend;
    config.workload = "http";
    test::ServerProcess server(config);
    Client c(server.port());
    c.send("GET / HTTP/1.1\r\n\r\n");
    EXPECT_FALSE(c.drain(300ms).empty()) << backend;
    EXPECT_EQ(test::thread_count(server.pid()), std::optional<std::size_t>(1)) << backend;
    EXPECT_TRUE(server.stop().clean()) << backend << ": " << server.stderr_text();
  }
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, WorkloadServer, ::testing::ValuesIn(test::ServerProcess::list_backends()),
                         test::test_name_for);
INSTANTIATE_TEST_SUITE_P(Variants, WorkloadServer,
                         ::testing::ValuesIn(test::ServerProcess::list_variants({"http", "echo", "chat"})),
                         test::test_name_for);

}  // namespace
}  // namespace tvt::testing
