// The Asio back ends as plain servers: exact http and echo replies, bad input, idle timeout, EMFILE shedding,
// graceful stop with open connections, and a short wrk run without errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "integration/server_process.hpp"

namespace tvt::testing {
namespace {

using namespace std::chrono_literals;

class AsioServer : public ::testing::TestWithParam<std::string> {};

constexpr std::string_view hello_reply =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

TEST_P(AsioServer, HttpKeepAliveAndPipelining) {
  ServerProcess server(GetParam(), "http");
  Client c(server.port());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got;
  while (got.size() < hello_reply.size()) {
    const auto more = c.drain(300ms);
    if (more.empty()) break;
    got += more;
  }
  EXPECT_EQ(got, hello_reply);
  c.send("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  got.clear();
  while (got.size() < 2 * hello_reply.size()) {
    const auto more = c.drain(300ms);
    if (more.empty()) break;
    got += more;
  }
  EXPECT_EQ(got, std::string(hello_reply) + std::string(hello_reply));
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(AsioServer, MalformedHttpGets400AndClose) {
  ServerProcess server(GetParam(), "http");
  Client c(server.port());
  c.send("GARBAGE\r\n\r\n");
  const auto reply = c.drain(300ms);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << reply;
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(AsioServer, EchoAndOversizedLine) {
  ServerProcess server(GetParam(), "echo", {"--max-line", "100"});
  Client c(server.port());
  c.send("one\ntwo\n");
  EXPECT_EQ(c.read_lines(2), (std::vector<std::string>{"one", "two"}));
  c.send(std::string(200, 'x') + "\n");
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(AsioServer, IdleAndSlowlorisConnectionsAreClosed) {
  ServerProcess server(GetParam(), "echo", {"--idle-timeout-ms", "300"});
  Client idle(server.port()), slowloris(server.port()), busy(server.port());
  const auto t0 = std::chrono::steady_clock::now();
  bool slowloris_closed = false;
  for (int i = 0; i < 12 && !slowloris_closed; ++i) {  // a byte every 100 ms, never a newline
    try {
      slowloris.send("x");
    } catch (const std::exception&) {
      slowloris_closed = true;
    }
    busy.send("ping\n");
    EXPECT_EQ(busy.read_lines(1), std::vector<std::string>{"ping"});
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(slowloris.closed_by_server(2s));
  EXPECT_TRUE(idle.closed_by_server(2s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
  busy.send("still here\n");  // active connections are not affected
  EXPECT_EQ(busy.read_lines(1), std::vector<std::string>{"still here"});
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(AsioServer, ShedsConnectionsAtTheOpenFileLimitAndRecovers) {
  ServerProcess server(GetParam(), "echo", {}, /*max_open_files=*/48);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 80; ++i) clients.push_back(std::make_unique<Client>(server.port()));  // the backlog takes them
  int served = 0, shed = 0;
  for (auto& c : clients) {
    try {
      c->send("hi\n");
    } catch (const std::exception&) {
    }
    const auto lines = c->read_lines(1, 2s);
    if (lines == std::vector<std::string>{"hi"}) {
      ++served;
    } else if (c->closed_by_server(1s)) {
      ++shed;
    }
  }
  EXPECT_GT(served, 0);
  EXPECT_GT(shed, 0);
  EXPECT_EQ(served + shed, 80);
  clients.clear();
  std::this_thread::sleep_for(100ms);
  Client after(server.port());  // descriptors are free again: served normally
  after.send("back\n");
  EXPECT_EQ(after.read_lines(1), std::vector<std::string>{"back"});
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(AsioServer, StopsWithinTheBudgetWithOpenConnections) {
  ServerProcess server(GetParam(), "http");
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 100; ++i) clients.push_back(std::make_unique<Client>(server.port()));
  clients[0]->send("GET / HTTP/1.1\r\n");  // one half-received request too
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  for (auto& c : clients) EXPECT_TRUE(c->closed_by_server(1s));
}

TEST_P(AsioServer, WrkRunsWithoutErrors) {
  if (::access("/usr/bin/wrk", X_OK) != 0) GTEST_SKIP() << "wrk not installed";
  ServerProcess server(GetParam(), "http");
  const std::string cmd = "wrk -t1 -c100 -d3s http://127.0.0.1:" + std::to_string(server.port()) + "/ 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) output += buf;
  EXPECT_EQ(::pclose(p), 0) << output;
  EXPECT_NE(output.find("Requests/sec"), std::string::npos) << output;
  EXPECT_EQ(output.find("Socket errors"), std::string::npos) << output;
  EXPECT_EQ(output.find("Non-2xx"), std::string::npos) << output;
  EXPECT_EQ(server.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Asio, AsioServer, ::testing::Values("asio", "asio-mt"), backend_test_name);

}  // namespace
}  // namespace tvt::testing
