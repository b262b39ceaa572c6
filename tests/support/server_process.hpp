#pragma once
// A real `server` executable in a child process, for integration tests: started on port 0, its ready line parsed,
// its stderr kept (in a memfd, so the server can never block on it), stopped with SIGTERM and checked for a clean
// exit. The destructor SIGKILLs and reaps a server that is still running, and the child dies with the test process
// (PR_SET_PDEATHSIG), so a failed test never leaves a server behind.
//
//   tvt::test::ServerProcess server({.backend = "threads", .workload = "http"});
//   auto client = tvt::test::RawClient::connect(server.port());
//   ...
//   EXPECT_TRUE(server.stop().clean()) << server.stderr_text();
#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tvt::test {

// Run the server as an otherwise unused user with RLIMIT_NPROC = `max_threads`: the kernel counts every thread of
// that user against the limit, so thread creation fails past it. (Root is exempt from RLIMIT_NPROC; a fresh user is
// not, and no other process shares its count.) Needs root to switch users.
struct ThreadLimit {
  uid_t uid;
  rlim_t max_threads;
};

struct ServerConfig {
  std::string backend;
  std::string workload = "http";
  std::vector<std::string> extra_args;       // e.g. {"--idle-timeout-ms", "500"}
  std::optional<rlim_t> max_open_files;      // RLIMIT_NOFILE of the server
  std::optional<ThreadLimit> thread_limit;
  std::chrono::milliseconds ready_timeout{10'000};
};

struct ExitReport {
  bool exited = false;                  // it ended within the budget (else it was SIGKILLed)
  int exit_code = -1;                   // if it exited normally
  int signal = 0;                       // if a signal ended it
  std::chrono::milliseconds elapsed{0};  // from SIGTERM to the end
  bool clean() const { return exited && exit_code == 0; }
};

class ServerProcess {
 public:
  // Throws std::runtime_error (with the server's stderr) if it does not print its ready line in time.
  explicit ServerProcess(const ServerConfig& config);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  const ServerConfig& config() const { return config_; }

  // Everything the server wrote to stderr so far.
  std::string stderr_text() const;
  // True while the process has not ended (reaps it if it has).
  bool running();
  // SIGTERM, then wait up to `budget` for it to end; SIGKILL after that. Idempotent: later calls return the first
  // report.
  ExitReport stop(std::chrono::milliseconds budget = std::chrono::milliseconds(2000));

  // The built `server` executable, and the names of its back ends (the registry it is built from).
  static std::string executable();
  static std::vector<std::string> list_backends();
  // Every variant the registry declares for any of `workloads`, as "backend arg arg..." (a ServerConfig::backend
  // value), so the suites run each option beside the plain back ends and no option can skip a rule they keep.
  static std::vector<std::string> list_variants(std::initializer_list<std::string_view> workloads);

 private:
  ServerConfig config_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::optional<ExitReport> exit_;
  std::optional<int> reaped_status_;
};

std::string describe(const ExitReport& report);

// A gtest parameter name for a back end ("asio-mt" -> "asio_mt"), for suites instantiated over list_backends().
// A function object, so that it can be passed as is (gtest calls it with a TestParamInfo<std::string>).
inline constexpr auto test_name_for = [](const auto& info) {
  std::string name = info.param;
  for (auto& c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
  return name;
};

}  // namespace tvt::test
