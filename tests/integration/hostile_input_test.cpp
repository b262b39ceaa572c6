// Hostile clients against every back end (issue 9; issue 2's bad-input cases are among them): slowloris, slow and
// stalled readers, oversized lines and headers, garbage, RST mid-request and mid-reply, half-close, 10,000
// connections that vanish, and SIGTERM with connections open. After every case the fixture checks that the server
// freed its descriptors and memory, serves a fresh client and stops cleanly (hostile_fixture.hpp).
#include <poll.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hostile_fixture.hpp"

namespace tvt::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

bool closed(ReadEnd end) { return end == ReadEnd::eof || end == ReadEnd::reset; }

// Fills the pipe to a client that never reads: sends echo lines until no byte has been accepted for `stall` (the
// server stopped reading, which is its back-pressure) or `cap_bytes` went out (it kept reading and buffering).
std::size_t fill_until_stalled(RawClient& client, std::size_t cap_bytes, std::chrono::milliseconds stall = 300ms) {
  const std::string line = std::string(1023, 'r') + "\n";
  std::size_t sent = 0;
  auto last_progress = Clock::now();
  std::size_t offset = 0;
  while (sent < cap_bytes && Clock::now() - last_progress < stall) {
    const auto n = client.send_nonblocking(std::string_view(line).substr(offset));
    if (n < 0) break;
    if (n == 0) {
      pollfd p{client.fd(), POLLOUT, 0};
      ::poll(&p, 1, 20);
      continue;
    }
    sent += static_cast<std::size_t>(n);
    offset = (offset + static_cast<std::size_t>(n)) % line.size();
    last_progress = Clock::now();
  }
  return sent;
}

// --- slowloris --------------------------------------------------------------------------------------------------

// Three clients send a request one byte per second. Each gap is below the 1.5 s idle timeout, so only a deadline on
// the whole request sheds them; a fourth client connects and sends nothing (the plain idle timeout). Meanwhile the
// server keeps serving others.
TEST_P(Hostile, SlowlorisIsShedByTheRequestTimeout) {
  auto& server = start("http", {"--idle-timeout-ms", "1500"});
  const std::string request = "GET /slow HTTP/1.1\r\nHost: tvt\r\nX-Slow: aaaaaaaaaaaaaaaa\r\n\r\n";
  std::vector<RawClient> slow;
  std::vector<long long> shed_after_ms(3, -1);
  for (int i = 0; i < 3; ++i) {
    auto client = RawClient::connect(server.port());
    ASSERT_TRUE(client);
    slow.push_back(std::move(*client));
  }
  auto idle = RawClient::connect(server.port());
  ASSERT_TRUE(idle);
  long long idle_shed_ms = -1;
  const auto start_time = Clock::now();
  bool served_meanwhile = false;
  for (std::size_t byte = 0; byte < request.size() && ms_since(start_time) < 8000; ++byte) {
    for (std::size_t i = 0; i < slow.size(); ++i)
      if (shed_after_ms[i] < 0 && slow[i].send_nonblocking(request.substr(byte, 1)) < 0)
        shed_after_ms[i] = ms_since(start_time);
    // Wait one second, noting every close as it happens.
    const auto tick_end = Clock::now() + 1000ms;
    while (Clock::now() < tick_end) {
      std::this_thread::sleep_for(20ms);
      for (std::size_t i = 0; i < slow.size(); ++i)
        if (shed_after_ms[i] < 0 && slow[i].peer_closed_now()) shed_after_ms[i] = ms_since(start_time);
      if (idle_shed_ms < 0 && idle->peer_closed_now()) idle_shed_ms = ms_since(start_time);
    }
    if (byte == 0) served_meanwhile = fresh_client_round_trip(server.port(), "http").empty();
    if (idle_shed_ms >= 0 && std::all_of(shed_after_ms.begin(), shed_after_ms.end(), [](long long t) { return t >= 0; }))
      break;
  }
  EXPECT_TRUE(served_meanwhile) << "a fresh client was not served while slowloris clients were connected";
  for (std::size_t i = 0; i < slow.size(); ++i) {
    EXPECT_GE(shed_after_ms[i], 0) << "slowloris client " << i << " was never shed";
    EXPECT_GE(shed_after_ms[i], 1000) << "slowloris client " << i << " was shed before any timeout could expire";
    EXPECT_LE(shed_after_ms[i], 4500) << "slowloris client " << i << " was shed late";
    // Nothing of a 200 may have been sent for a request that never arrived whole.
    const auto rest = slow[i].read_until_closed(500ms);
    EXPECT_EQ(rest.bytes.find("200 OK"), std::string::npos);
  }
  EXPECT_GE(idle_shed_ms, 1000) << "the idle client was shed before the idle timeout (or never)";
  EXPECT_LE(idle_shed_ms, 4000) << "the idle client was shed late";
  report("shed_after_ms=" + std::to_string(shed_after_ms[0]) + "," + std::to_string(shed_after_ms[1]) + "," +
         std::to_string(shed_after_ms[2]) + " idle_shed_ms=" + std::to_string(idle_shed_ms));
}

// --- slow and stalled readers -----------------------------------------------------------------------------------

// A client that sends without ever reading the replies: the server must keep serving others, and must not buffer
// without bound on its behalf (it should stop reading from that client instead).
TEST_P(Hostile, SlowReaderDoesNotBlockOthersOrGrowMemory) {
  auto& server = start("echo");
  auto reader = RawClient::connect(server.port(), {.receive_buffer_bytes = 4096});
  ASSERT_TRUE(reader);
  const std::size_t cap = 64 * 1024 * 1024;
  const auto sent = fill_until_stalled(*reader, cap);
  EXPECT_LT(sent, cap) << "the server kept reading from a client that reads nothing";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(fresh_client_round_trip(server.port(), "echo", 2000ms), "") << "client " << i;
  const auto rss = vm_rss_bytes(server.pid()).value_or(0);
  if (check_memory) {
    EXPECT_LE(rss, idle_rss() + 32 * 1024 * 1024) << "the server buffers replies for a reader that does not read";
  }
  report("sent_before_stall_kib=" + std::to_string(sent / 1024) + " rss_growth_kib=" +
         std::to_string((rss - std::min(rss, idle_rss())) / 1024));
  reader->reset();
}

// With an idle timeout set, a reader that stops reading is shed like any other idle client: the server gives up
// its descriptor (and its thread or task) while the client still holds the connection.
TEST_P(Hostile, StalledReaderIsShedByTheIdleTimeout) {
  auto& server = start("echo", {"--idle-timeout-ms", "500"});
  auto reader = RawClient::connect(server.port(), {.receive_buffer_bytes = 4096});
  ASSERT_TRUE(reader);
  fill_until_stalled(*reader, 64 * 1024 * 1024);
  const auto start_time = Clock::now();
  std::size_t fds = 0;
  const bool shed = eventually(
      [&] {
        fds = open_fd_count(server.pid()).value_or(0);
        return fds <= idle_fds();
      },
      4000ms);
  EXPECT_TRUE(shed) << "a reader stalled for 4 s was not shed (fds " << fds << ", idle " << idle_fds() << ")";
  report("shed_after_ms=" + std::to_string(shed ? ms_since(start_time) : -1));
}

// --- oversized input --------------------------------------------------------------------------------------------

TEST_P(Hostile, OversizedEchoLineClosesTheConnection) {
  auto& server = start("echo", {"--max-line", "1024"});
  {  // a complete line over the limit, after one that fits: the first is echoed, the second closes
    auto client = RawClient::connect(server.port());
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send_all("fits\n" + std::string(1025, 'x') + "\n"));
    const auto got = client->read_until_closed(3000ms);
    EXPECT_TRUE(closed(got.end)) << name(got.end);
    EXPECT_EQ(got.bytes, "fits\n");
  }
  {  // an unfinished line over the limit closes without waiting for its newline
    auto client = RawClient::connect(server.port());
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send_all(std::string(4096, 'y')));
    const auto got = client->read_until_closed(3000ms);
    EXPECT_TRUE(closed(got.end)) << name(got.end);
    EXPECT_EQ(got.bytes, "");
  }
}

TEST_P(Hostile, OversizedHttpHeaderGets431AndClose) {
  auto& server = start("http");
  struct Case {
    const char* what;
    std::string request;
  };
  std::string many_fields = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  many_fields += "\r\n";
  const std::vector<Case> cases = {
      {"one 9 KiB field", "GET / HTTP/1.1\r\nX-Big: " + std::string(9 * 1024, 'b') + "\r\n\r\n"},
      {"no end of headers", "GET / HTTP/1.1\r\nX-Big: " + std::string(12 * 1024, 'b')},
      {"101 fields", many_fields},
      {"after a good request", std::string(http_get) + "GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n"},
  };
  for (const auto& c : cases) {
    auto client = RawClient::connect(server.port());
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send_all(c.request)) << c.what;
    const auto got = client->read_until_closed(3000ms);
    EXPECT_TRUE(closed(got.end)) << c.what << ": " << name(got.end);
    const auto expected_start = c.what == std::string("after a good request") ? std::string(http_ok_reply) : "";
    EXPECT_EQ(got.bytes.substr(0, expected_start.size()), expected_start) << c.what;
    EXPECT_EQ(got.bytes.substr(expected_start.size(), 12), "HTTP/1.1 431") << c.what << ": got '" << got.bytes << "'";
  }
}

// --- garbage ----------------------------------------------------------------------------------------------------

TEST_P(Hostile, GarbageGets400AndClose) {
  auto& server = start("http");
  std::mt19937 random(20240611);
  std::string noise(2048, '\0');
  for (auto& byte : noise) byte = static_cast<char>(random() & 0xff);
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"TLS ClientHello", std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11) + "\r\n\r\n"},
      {"random bytes", noise + "\r\n\r\n"},
      {"NUL in the method", std::string("G\0T / HTTP/1.1\r\n\r\n", 18)},
      {"header without colon", "GET / HTTP/1.1\r\nHost tvt\r\n\r\n"},
      {"bad version", "GET / HTTP/x.y\r\n\r\n"},
      {"bad Content-Length", "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"},
      {"request line of spaces", "   \r\n\r\n"},
  };
  for (const auto& [what, bytes] : cases) {
    auto client = RawClient::connect(server.port());
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send_all(bytes)) << what;
    const auto got = client->read_until_closed(3000ms);
    EXPECT_TRUE(closed(got.end)) << what << ": " << name(got.end);
    EXPECT_EQ(got.bytes.substr(0, 12), "HTTP/1.1 400") << what << ": got '" << got.bytes << "'";
  }
}

// Echo is binary-safe: "garbage" is just bytes to echo, NULs and high bytes included.
TEST_P(Hostile, GarbageBytesAreEchoedVerbatim) {
  auto& server = start("echo");
  std::mt19937 random(7);
  std::string lines;
  for (int i = 0; i < 64; ++i) {
    std::string line(static_cast<std::size_t>(random() % 300), '\0');
    for (auto& byte : line) byte = static_cast<char>(random() & 0xff);
    std::replace(line.begin(), line.end(), '\n', '\0');
    lines += line + "\n";
  }
  auto client = RawClient::connect(server.port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send_all(lines));
  const auto got = client->read_exactly(lines.size(), 3000ms);
  EXPECT_EQ(got.bytes, lines);
}

// --- connections reset mid-way ----------------------------------------------------------------------------------

TEST_P(Hostile, ResetMidRequest) {
  auto& http = start("http");
  auto& echo = start("echo");
  for (int i = 0; i < 50; ++i) {
    auto h = RawClient::connect(http.port());
    auto e = RawClient::connect(echo.port());
    ASSERT_TRUE(h && e);
    ASSERT_TRUE(h->send_all("GET /half HTTP/1.1\r\nHost: t"));
    ASSERT_TRUE(e->send_all("half a line"));
    std::this_thread::sleep_for(2ms);  // let the server read the partial request before the RST
    h->reset();
    e->reset();
  }
}

TEST_P(Hostile, ResetMidReply) {
  // 8 pipelined replies of 1 MiB to a 4 KiB receive window: the server is mid-reply when the RST comes, and has
  // buffers of several MiB per connection to give back afterwards (the fixture checks that RSS returns to idle).
  auto& http = start("http", {"--body-size", "1048576"});
  auto& echo = start("echo");
  std::vector<RawClient> clients;
  for (int i = 0; i < 20; ++i) {
    auto h = RawClient::connect(http.port(), {.receive_buffer_bytes = 4096});
    auto e = RawClient::connect(echo.port(), {.receive_buffer_bytes = 4096});
    ASSERT_TRUE(h && e);
    std::string pipelined;
    for (int r = 0; r < 8; ++r) pipelined += http_get;
    ASSERT_TRUE(h->send_all(pipelined));
    fill_until_stalled(*e, 1024 * 1024, 100ms);
    clients.push_back(std::move(*h));
    clients.push_back(std::move(*e));
  }
  for (auto& client : clients) {
    const auto got = client.read_exactly(1024, 2000ms);
    EXPECT_GE(got.bytes.size(), 1024u) << "no reply was under way (" << name(got.end) << ")";
    client.reset();
  }
}

// --- half-close -------------------------------------------------------------------------------------------------

TEST_P(Hostile, HalfCloseStillGetsTheRepliesThenClose) {
  auto& http = start("http");
  auto& echo = start("echo");
  {
    auto client = RawClient::connect(http.port());
    ASSERT_TRUE(client);
    const std::string three = std::string(http_get) + std::string(http_get) + std::string(http_get);
    ASSERT_TRUE(client->send_all(three));
    client->shutdown_write();
    const auto got = client->read_until_closed(3000ms);
    EXPECT_EQ(got.end, ReadEnd::eof) << name(got.end);
    EXPECT_EQ(got.bytes, std::string(http_ok_reply) + std::string(http_ok_reply) + std::string(http_ok_reply));
  }
  {
    auto client = RawClient::connect(echo.port());
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send_all("one\ntwo\nunfinished"));
    client->shutdown_write();
    const auto got = client->read_until_closed(3000ms);
    EXPECT_EQ(got.end, ReadEnd::eof) << name(got.end);
    EXPECT_EQ(got.bytes, "one\ntwo\n");
  }
}

// --- connection storm -------------------------------------------------------------------------------------------

// 10,000 connections that connect and vanish, in batches of 500: most reset (SO_LINGER 0), some close with FIN, some
// send half a request first. Mostly RSTs so that the client side leaves few TIME_WAIT ports behind. One round warms
// pools and caches; then six more. A leak grows with every connection, so it shows as resident memory that grows in
// every round; what a pool or a cache keeps steps up once, when a burst happens to reach a new high-water mark, and a
// garbage collector's timing moves the level both ways by ~1 MB. A two-round level check (the first version of this
// test) failed now and then on a loaded machine for exactly those reasons. So: the case fails when RSS grew by more
// than 256 KiB in each of the six rounds (a leak of ~26 B per connection), or by more than 16 MiB over all six
// (~280 B per connection, however noisy the rounds).
TEST_P(Hostile, TenThousandConnectionsThatVanish) {
  auto& server = start("http");
  memory_judged_by_the_case();
  constexpr int per_round = 10'000;
  constexpr int batch = 500;
  constexpr int measured_rounds = 6;
  constexpr double steady_growth_bytes = 256 * 1024;
  constexpr double max_total_growth_bytes = 16 * 1024 * 1024;
  int connect_failures = 0;
  std::size_t peak_fds = 0;
  auto storm = [&] {
    for (int done = 0; done < per_round; done += batch) {
      std::vector<RawClient> clients;
      clients.reserve(batch);
      for (int i = 0; i < batch; ++i) {
        auto client = RawClient::connect(server.port());
        if (!client) {
          ++connect_failures;
          continue;
        }
        if (i % 10 == 5) client->send_nonblocking("GET / HT");
        clients.push_back(std::move(*client));
      }
      peak_fds = std::max(peak_fds, open_fd_count(server.pid()).value_or(0));
      for (std::size_t i = 0; i < clients.size(); ++i) {
        if (i % 10 == 0) {
          clients[i].close();
        } else {
          clients[i].reset();
        }
      }
    }
    eventually([&] { return open_fd_count(server.pid()).value_or(0) <= idle_fds(); }, 5000ms);
    return static_cast<double>(vm_rss_bytes(server.pid()).value_or(0));
  };
  const auto start_time = Clock::now();
  const auto rss_warm = storm();
  const auto first_ms = ms_since(start_time);
  std::vector<double> rss;
  for (int round = 0; round < measured_rounds; ++round) rss.push_back(storm());
  int rounds_grown = 0;
  double previous = rss_warm;
  for (const auto r : rss) {
    if (r > previous + steady_growth_bytes) ++rounds_grown;
    previous = r;
  }
  const double total_growth = rss.back() - rss_warm;
  EXPECT_EQ(connect_failures, 0);
  EXPECT_TRUE(server.running());
  std::string trace;
  for (const auto r : rss) trace.append(" ").append(std::to_string(static_cast<long long>(r) / 1024));
  if (check_memory) {
    EXPECT_LT(rounds_grown, measured_rounds)
        << "resident memory grew in every round of 10,000 connections (KiB after each:" << trace << ")";
    EXPECT_LE(total_growth, max_total_growth_bytes)
        << "resident memory grew by more than 16 MiB over six rounds (KiB after each:" << trace << ")";
  }
  report("connections=" + std::to_string((measured_rounds + 1) * per_round) + " first_round_ms=" +
         std::to_string(first_ms) + " connect_failures=" + std::to_string(connect_failures) +
         " peak_fds=" + std::to_string(peak_fds) + " rss_after_warm_kib=" +
         std::to_string(static_cast<long long>(rss_warm) / 1024) + " rss_after_rounds_kib=" + trace +
         " rounds_grown=" + std::to_string(rounds_grown));
}

// --- graceful stop ----------------------------------------------------------------------------------------------

// SIGTERM while connections are idle, half-way through a request, and stuck writing to a reader that does not read:
// the server closes them all and exits 0 within 2 s.
TEST_P(Hostile, GracefulStopWithOpenConnections) {
  auto& server = start("echo");
  std::vector<RawClient> clients;
  for (int i = 0; i < 20; ++i) {
    auto client = RawClient::connect(server.port());
    ASSERT_TRUE(client);
    if (i % 4 == 1) {
      ASSERT_TRUE(client->send_all("half a line"));
    }
    if (i % 4 == 2) {
      EXPECT_EQ(round_trip(*client, "echo"), "");
    }
    clients.push_back(std::move(*client));
  }
  for (int i = 0; i < 2; ++i) {
    auto reader = RawClient::connect(server.port(), {.receive_buffer_bytes = 4096});
    ASSERT_TRUE(reader);
    fill_until_stalled(*reader, 16 * 1024 * 1024, 200ms);
    clients.push_back(std::move(*reader));
  }
  const auto exit = server.stop(2000ms);
  EXPECT_TRUE(exit.clean()) << describe(exit) << "\n" << server.stderr_text();
  EXPECT_LE(exit.elapsed, 2000ms);
  int closed_by_server = 0;
  for (auto& client : clients) closed_by_server += client.peer_closed_now() ? 1 : 0;
  report("open_connections=" + std::to_string(clients.size()) + " stop_ms=" + std::to_string(exit.elapsed.count()) +
         " exit=" + std::to_string(exit.exit_code) + " closed_by_server=" + std::to_string(closed_by_server));
  skip_teardown_checks_ = true;
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, Hostile, ::testing::ValuesIn(backends_under_test()), test_name_for);
INSTANTIATE_TEST_SUITE_P(Variants, Hostile, ::testing::ValuesIn(test::ServerProcess::list_variants({"http", "echo"})),
                         test_name_for);

}  // namespace
}  // namespace tvt::test
