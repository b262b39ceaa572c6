// Name resolution in TcpStream::connect (coro/tcp_resolve.hpp): literals parsed without a lookup, IPv4 and IPv6,
// each resolved address tried in turn, a clear error for a name that does not resolve. Names come from a hosts file
// the test writes, never from the network: the test runs itself again in a private mount namespace where that file
// is bind-mounted over /etc/hosts and nsswitch.conf says "hosts: files" (needs root or user namespaces; skipped
// otherwise). Only `localhost` is resolved in the ordinary namespace.
#include "coro/tcp_resolve.hpp"  // first: the public header is self-contained

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "coro/block_on.hpp"
#include "coro/spawn.hpp"
#include "coro/tcp_listener.hpp"
#include "coro/tcp_stream.hpp"

namespace {

using namespace tvt::coro;

// Accepts one connection on `listener` while `host` connects to it; true if both ends met.
bool connects(const std::string& host, TcpListener& listener) {
  return block_on([](std::string h, TcpListener& l) -> Task<bool> {
    auto accepted = spawn_local(l.accept());
    auto client = co_await TcpStream::connect(h, l.local_port());
    auto server_side = co_await accepted;
    co_await client.write_all("x");
    char byte = 0;
    co_await server_side.read_exact({&byte, 1});
    co_return byte == 'x';
  }(host, listener));
}

TEST(CoroResolve, LiteralsAreParsedWithoutALookup) {
  const auto v4 = SocketAddress::parse_literal("127.0.0.1", 80);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->to_string(), "127.0.0.1:80");
  for (const char* v6 : {"::1", "[::1]"}) {
    const auto a = SocketAddress::parse_literal(v6, 8080);
    ASSERT_TRUE(a) << v6;
    EXPECT_EQ(a->family(), AF_INET6);
    EXPECT_EQ(a->to_string(), "[::1]:8080");
    EXPECT_EQ(a->port(), 8080);
  }
  EXPECT_FALSE(SocketAddress::parse_literal("localhost", 80));
  EXPECT_FALSE(SocketAddress::parse_literal("example.invalid", 80));
}

TEST(CoroResolve, ConnectsByNameAndByIpv4AndIpv6Literal) {
  auto v4 = TcpListener::bind("127.0.0.1", 0);
  EXPECT_TRUE(connects("localhost", v4));
  EXPECT_TRUE(connects("127.0.0.1", v4));
  auto v6 = TcpListener::bind("::1", 0);
  EXPECT_TRUE(connects("::1", v6));
  EXPECT_TRUE(connects("[::1]", v6));
}

TEST(CoroResolve, ARefusedConnectionNamesTheAddressItTried) {
  std::uint16_t dead_port;
  {
    auto l = TcpListener::bind("::1", 0);
    dead_port = l.local_port();
  }
  try {
    block_on(TcpStream::connect("::1", dead_port));
    FAIL() << "connected to a closed port";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::connection_refused);
    EXPECT_NE(std::string(e.what()).find("[::1]:" + std::to_string(dead_port)), std::string::npos) << e.what();
  }
}

// ---- names from a hosts file the test controls ----

constexpr const char* namespace_env = "TVT_RESOLVE_TEST_HOSTS";
constexpr int cannot_isolate = 77;

// Runs this test binary again with `filter`, in a private mount namespace whose /etc/hosts is `hosts` and whose
// resolver reads files only. Returns its exit code (cannot_isolate if the namespace could not be made).
int run_self_with_hosts(const std::string& filter, const std::string& hosts) {
  char dir_template[] = "/tmp/tvt_resolve_XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return cannot_isolate;
  const std::string dir = dir_template, hosts_path = dir + "/hosts", nss_path = dir + "/nsswitch.conf";
  std::ofstream(hosts_path) << hosts;
  std::ofstream(nss_path) << "hosts: files\n";
  std::string self(4096, '\0');
  self.resize(static_cast<std::size_t>(std::max<ssize_t>(0, ::readlink("/proc/self/exe", self.data(), self.size()))));
  const std::string filter_arg = "--gtest_filter=" + filter;
  std::string marker = std::string(namespace_env) + "=1";
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  env.push_back(marker.data());
  env.push_back(nullptr);
  char also_disabled[] = "--gtest_also_run_disabled_tests";
  char* argv[] = {self.data(), const_cast<char*>(filter_arg.c_str()), also_disabled, nullptr};
  const pid_t pid = ::fork();
  if (pid == 0) {  // only syscalls until exec: the parent has threads
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(hosts_path.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0 ||
        ::mount(nss_path.c_str(), "/etc/nsswitch.conf", nullptr, MS_BIND, nullptr) != 0)
      ::_exit(cannot_isolate);
    ::execve(self.c_str(), argv, env.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::unlink(hosts_path.c_str());
  ::unlink(nss_path.c_str());
  ::rmdir(dir.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(CoroResolve, NamesFromAHostsFileTheTestControls) {
  const int rc = run_self_with_hosts("DISABLED_CoroResolveInHostsNamespace.*",
                                     "127.0.0.1 seed-v4.test\n"
                                     "::1 seed-v6.test\n"
                                     "::1 seed-both.test\n"
                                     "127.0.0.1 seed-both.test\n");
  if (rc == cannot_isolate) GTEST_SKIP() << "no private mount namespace here (needs root)";
  EXPECT_EQ(rc, 0) << "DISABLED_CoroResolveInHostsNamespace.* failed in the namespace (their output is above)";
}

// These run only inside run_self_with_hosts: DISABLED_ keeps them out of ordinary runs and ctest's list.
class DISABLED_CoroResolveInHostsNamespace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv(namespace_env) == nullptr) GTEST_SKIP() << "runs inside NamesFromAHostsFileTheTestControls";
  }
};

TEST_F(DISABLED_CoroResolveInHostsNamespace, Ipv4AndIpv6Names) {
  auto v4 = TcpListener::bind("127.0.0.1", 0);
  EXPECT_TRUE(connects("seed-v4.test", v4));
  auto v6 = TcpListener::bind("::1", 0);
  EXPECT_TRUE(connects("seed-v6.test", v6));
  const auto both = block_on(resolve("seed-both.test", 7));
  ASSERT_EQ(both.size(), 2u);
  EXPECT_NE(both[0].family(), both[1].family());
}

TEST_F(DISABLED_CoroResolveInHostsNamespace, EachAddressIsTriedInTurn) {
  // The name has an IPv6 and an IPv4 address; only IPv4 listens. Whichever the resolver puts first, it connects.
  auto v4 = TcpListener::bind("127.0.0.1", 0);
  EXPECT_TRUE(connects("seed-both.test", v4));
  auto v6 = TcpListener::bind("::1", 0);
  EXPECT_TRUE(connects("seed-both.test", v6));
}

TEST_F(DISABLED_CoroResolveInHostsNamespace, AnUnknownNameIsAClearError) {
  try {
    block_on(TcpStream::connect("nosuch.test", 80));
    FAIL() << "resolved a name that is in no hosts file";
  } catch (const std::system_error& e) {
    EXPECT_EQ(&e.code().category(), &resolve_category());
    EXPECT_EQ(std::string(e.what()), "resolve 'nosuch.test': Name or service not known");
  }
  EXPECT_THROW(resolve_blocking("nosuch.test", 80), std::system_error);
}

}  // namespace
