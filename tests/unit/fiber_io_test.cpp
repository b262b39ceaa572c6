// Fiber sockets on the shared reactor: accept/connect/read/write park the fiber; timeouts; cancellation; the
// SocketStream under the shared blocking loop; a socket that fills up while flushing.
#include "fiber/tcp.hpp"  // first: the header is self-contained

#include <gtest/gtest.h>
#include <sys/eventfd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <vector>

#include "blocking/serve_connection.hpp"
#include "fiber/detail/worker.hpp"
#include "fiber/scheduler.hpp"
#include "fiber/socket_stream.hpp"
#include "fiber/spawn.hpp"
#include "fiber/this_fiber.hpp"
#include "net/socket.hpp"
#include "protocol/echo.hpp"

namespace {

using namespace std::chrono_literals;
namespace fiber = tvt::fiber;
namespace net = tvt::net;

class FiberIo : public ::testing::TestWithParam<unsigned> {
 protected:
  fiber::Scheduler scheduler{{.workers = GetParam()}};
  net::UniqueFd listener = net::listen_tcp("127.0.0.1", 0);
  std::uint16_t port = net::local_port(listener.get());
};

std::string read_exactly(fiber::TcpStream& s, std::size_t n) {
  std::string got;
  char buf[4096];
  while (got.size() < n) {
    const long r = s.read_some(buf, sizeof buf);
    if (r <= 0) break;
    got.append(buf, static_cast<std::size_t>(r));
  }
  return got;
}

TEST_P(FiberIo, ManyClientsEchoThroughParkedFibers) {
  constexpr int clients = 200;
  std::atomic<int> ok{0};
  scheduler.block_on([&] {
    fiber::TcpListener tcp(listener.get());
    auto server = fiber::spawn([&] {
      for (int i = 0; i < clients; ++i) {
        auto fd = tcp.accept();
        ASSERT_TRUE(fd);
        fiber::spawn([fd = std::move(fd)]() mutable {
          fiber::TcpStream conn(std::move(fd));
          char buf[256];
          for (;;) {
            const long n = conn.read_some(buf, sizeof buf);
            if (n <= 0) return;
            if (!conn.write_all({buf, static_cast<std::size_t>(n)})) return;
          }
        }).detach();
      }
    });
    std::vector<fiber::JoinHandle<void>> hs;
    for (int c = 0; c < clients; ++c)
      hs.push_back(fiber::spawn([&, c] {
        fiber::TcpStream s(fiber::TcpStream::connect("127.0.0.1", port));
        const std::string msg = "hello " + std::to_string(c) + "\n";
        for (int round = 0; round < 3; ++round) {
          ASSERT_TRUE(s.write_all(msg));
          if (read_exactly(s, msg.size()) != msg) return;
        }
        ok.fetch_add(1);
      }));
    for (auto& h : hs) h.join();
    server.join();
  });
  EXPECT_EQ(ok.load(), clients);
}

TEST_P(FiberIo, ReadTimesOut) {
  scheduler.block_on([&] {
    fiber::TcpListener tcp(listener.get());
    auto client = fiber::spawn([&] { return fiber::TcpStream::connect("127.0.0.1", port); });
    fiber::TcpStream conn(tcp.accept());
    char buf[16];
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(conn.read_some(buf, sizeof buf, std::chrono::steady_clock::now() + 20ms), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
    auto keep = client.join();  // the client stays connected (and silent) throughout
  });
}

TEST_P(FiberIo, AcceptIsCancelledByAnotherFd) {
  scheduler.block_on([&] {
    fiber::TcpListener tcp(listener.get());
    net::UniqueFd stop(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    tvt::reactor::Registration stop_reg;
    fiber::detail::current_worker()->reactor.add(stop.get(), stop_reg);
    auto stopper = fiber::spawn([&] {
      fiber::this_fiber::sleep_for(10ms);
      const std::uint64_t one = 1;
      EXPECT_EQ(::write(stop.get(), &one, sizeof one), 8);
    });
    EXPECT_FALSE(tcp.accept(&stop_reg));
    stopper.join();
    stop_reg.reactor()->remove(stop_reg);
  });
}

TEST_P(FiberIo, SharedEchoLoopRunsOnASocketStream) {
  scheduler.block_on([&] {
    fiber::TcpListener tcp(listener.get());
    auto server = fiber::spawn([&] {
      fiber::TcpStream conn(tcp.accept());
      fiber::SocketStream stream(conn, 0ms);
      tvt::protocol::Limits limits;
      tvt::blocking::serve_connection(stream, tvt::protocol::EchoSession(limits), 0ms);
    });
    fiber::TcpStream client(fiber::TcpStream::connect("127.0.0.1", port));
    ASSERT_TRUE(client.write_all("one\ntwo\nthr"));
    ASSERT_TRUE(client.write_all("ee\n"));
    EXPECT_EQ(read_exactly(client, 14), "one\ntwo\nthree\n");
    client.shutdown(SHUT_WR);
    server.join();  // the loop ends at end of stream
  });
}

TEST_P(FiberIo, FlushParksWhenTheSocketIsFullAndSendsEverything) {
  constexpr std::size_t total = 8 << 20;  // far more than loopback socket buffers hold
  scheduler.block_on([&] {
    fiber::TcpListener tcp(listener.get());
    auto server = fiber::spawn([&] {
      fiber::TcpStream conn(tcp.accept());
      fiber::SocketStream stream(conn, 0ms);
      stream.out().assign(total, 'x');
      EXPECT_TRUE(stream.flush());
      EXPECT_TRUE(stream.out().empty());
    });
    fiber::TcpStream client(fiber::TcpStream::connect("127.0.0.1", port));
    fiber::this_fiber::sleep_for(20ms);  // let the server fill the socket and park
    const std::string got = read_exactly(client, total);
    EXPECT_EQ(got.size(), total);
    EXPECT_EQ(got.find_first_not_of('x'), std::string::npos);
    server.join();
  });
}

TEST_P(FiberIo, IdleTimeoutEndsASocketStreamRead) {
  scheduler.block_on([&] {
    fiber::TcpListener tcp(listener.get());
    auto client = fiber::spawn([&] { return fiber::TcpStream::connect("127.0.0.1", port); });
    fiber::TcpStream conn(tcp.accept());
    fiber::SocketStream stream(conn, 20ms);
    EXPECT_TRUE(stream.read().empty());
    auto keep = client.join();
  });
}

INSTANTIATE_TEST_SUITE_P(Workers, FiberIo, ::testing::Values(1u, 2u),
                         [](const auto& param_info) { return std::to_string(param_info.param) + "_workers"; });

}  // namespace
