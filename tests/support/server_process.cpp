#include "support/server_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "server/registry.hpp"

namespace tvt::test {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> command_line(const ServerConfig& config) {
  // `backend` may carry a variant's arguments after the name ("threads --thread-cache 8"): one word per argument.
  std::vector<std::string> args = {ServerProcess::executable(), "--backend"};
  std::istringstream words(config.backend);
  for (std::string word; words >> word;) args.push_back(word);
  args.insert(args.end(), {"--workload", config.workload, "--port", "0"});
  args.insert(args.end(), config.extra_args.begin(), config.extra_args.end());
  return args;
}

// Between fork and exec only async-signal-safe calls: the child of a multi-threaded parent may not allocate.
[[noreturn]] void exec_child(const ServerConfig& config, char* const* argv, const char* path, int stdout_fd,
                             int stderr_fd, pid_t parent) {
  if (::dup2(stdout_fd, STDOUT_FILENO) < 0 || ::dup2(stderr_fd, STDERR_FILENO) < 0) ::_exit(126);
  sigset_t all;
  ::sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  if (config.max_open_files) {
    const rlimit limit{*config.max_open_files, *config.max_open_files};
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(125);
  }
  if (config.thread_limit) {
    const rlimit limit{config.thread_limit->max_threads, config.thread_limit->max_threads};
    if (::setgroups(0, nullptr) != 0 || ::setgid(config.thread_limit->uid) != 0 ||
        ::setrlimit(RLIMIT_NPROC, &limit) != 0 || ::setuid(config.thread_limit->uid) != 0)
      ::_exit(124);
  }
  // After any credential change, which clears it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(123);
  ::execv(path, argv);
  ::_exit(127);
}

// Reads stdout until one full line arrives, or the deadline, or EOF.
std::string read_ready_line(int fd, Clock::time_point deadline) {
  std::string text;
  while (text.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buffer[256];
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace

std::string ServerProcess::executable() { return std::string(TVT_BIN_DIR) + "/server"; }

std::vector<std::string> ServerProcess::list_backends() {
  std::vector<std::string> names;
  for (const auto& entry : server::backends()) names.emplace_back(entry.name);
  return names;
}

std::vector<std::string> ServerProcess::list_variants(std::initializer_list<std::string_view> workloads) {
  std::vector<std::string> params;
  for (const auto& entry : server::backends()) {
    for (const auto& variant : entry.variants) {
      const bool applies = std::any_of(variant.workloads.begin(), variant.workloads.end(), [&](auto w) {
        return std::find(workloads.begin(), workloads.end(), protocol::name(w)) != workloads.end();
      });
      if (!applies) continue;
      std::string param(entry.name);
      for (const auto arg : variant.args) param.append(" ").append(arg);
      params.push_back(std::move(param));
    }
  }
  return params;
}

ServerProcess::ServerProcess(const ServerConfig& config) : config_(config) {
  const auto args = command_line(config);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  int stdout_pipe[2];
  if (::pipe2(stdout_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  stdout_fd_ = stdout_pipe[0];
  stderr_fd_ = ::memfd_create("server-stderr", MFD_CLOEXEC);
  if (stderr_fd_ < 0) throw std::runtime_error("memfd_create failed");

  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid_ == 0) exec_child(config, argv.data(), args[0].c_str(), stdout_pipe[1], stderr_fd_, parent);
  ::close(stdout_pipe[1]);

  const auto line = read_ready_line(stdout_fd_, Clock::now() + config.ready_timeout);
  unsigned port = 0;
  int ready_pid = 0;
  if (std::sscanf(line.c_str(), "ready port=%u pid=%d", &port, &ready_pid) != 2 || ready_pid != pid_ || port == 0 ||
      port > 65535) {
    stop(std::chrono::milliseconds(0));
    throw std::runtime_error("server did not print its ready line (got '" + line + "'); stderr:\n" + stderr_text());
  }
  port_ = static_cast<std::uint16_t>(port);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exit_) stop(std::chrono::milliseconds(0));
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
}

std::string ServerProcess::stderr_text() const {
  struct stat st {};
  if (::fstat(stderr_fd_, &st) != 0) return {};
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  const auto n = ::pread(stderr_fd_, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

bool ServerProcess::running() {
  if (reaped_status_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_status_ = status;
    return false;
  }
  return true;
}

ExitReport ServerProcess::stop(std::chrono::milliseconds budget) {
  if (exit_) return *exit_;
  ExitReport report;
  const auto start = Clock::now();
  if (running()) {
    ::kill(pid_, SIGCONT);  // a test may have stopped it (SIGSTOP); a stopped process would sit on the SIGTERM
    ::kill(pid_, budget.count() > 0 ? SIGTERM : SIGKILL);
    while (running() && Clock::now() - start < budget) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (!reaped_status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_status_ = status;
    report.exited = false;
  } else {
    report.exited = budget.count() > 0;
  }
  if (WIFEXITED(*reaped_status_)) report.exit_code = WEXITSTATUS(*reaped_status_);
  if (WIFSIGNALED(*reaped_status_)) report.signal = WTERMSIG(*reaped_status_);
  exit_ = report;
  return report;
}

std::string describe(const ExitReport& report) {
  std::string text = report.exited ? "ended" : "did not end in time (killed)";
  if (report.signal != 0) text += ", signal " + std::to_string(report.signal);
  if (report.exit_code >= 0) text += ", exit code " + std::to_string(report.exit_code);
  return text + ", after " + std::to_string(report.elapsed.count()) + " ms";
}

}  // namespace tvt::test
