#include "loadgen/perf_counter.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "loadgen/probe.hpp"

namespace tvt::loadgen {
namespace {

constexpr std::string_view syscall_event = "raw_syscalls:sys_enter";
constexpr std::string_view switch_event = "context-switches";
// The calls that wait for work, by this architecture's syscall numbers (some do not exist everywhere). perf names the
// filtered event like the unfiltered one, so it is told apart by its position (the third event).
std::string wait_filter() {
  const long numbers[] = {
#ifdef __NR_epoll_wait
      __NR_epoll_wait,
#endif
#ifdef __NR_poll
      __NR_poll,
#endif
#ifdef __NR_select
      __NR_select,
#endif
      __NR_epoll_pwait, __NR_epoll_pwait2, __NR_io_uring_enter, __NR_ppoll, __NR_pselect6};
  std::string filter;
  for (const long n : numbers) filter += (filter.empty() ? "id == " : " || id == ") + std::to_string(n);
  return filter;
}
constexpr std::int64_t command_timeout_ns = 2'000'000'000;

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::optional<PerfCounts> parse_perf_stat_csv(std::string_view text) {
  PerfCounts counts;
  int syscall_lines = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.empty() || line.front() == '#') continue;
    // value,unit,event,run_time,percentage,...
    const auto c1 = line.find(',');
    if (c1 == std::string_view::npos) continue;
    const auto c2 = line.find(',', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const auto c3 = line.find(',', c2 + 1);
    const std::string_view value = line.substr(0, c1);
    const std::string_view event = line.substr(c2 + 1, c3 == std::string_view::npos ? c3 : c3 - c2 - 1);
    std::int64_t v = 0;
    const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
    if (r.ec != std::errc{} || r.ptr != value.data() + value.size()) continue;  // "<not counted>", "<not supported>"
    if (event == syscall_event) {
      (syscall_lines++ == 0 ? counts.syscalls : counts.waits) = v;
    } else if (event == switch_event || event == "cs") {
      counts.context_switches = v;
    }
  }
  if (counts.syscalls < 0 || counts.context_switches < 0 || counts.waits < 0) return std::nullopt;
  return counts;
}

PerfCounter::~PerfCounter() {
  stop_child();
  if (!output_path_.empty()) ::unlink(output_path_.c_str());
}

void PerfCounter::stop_child() {
  if (control_ >= 0) ::close(control_);
  if (ack_ >= 0) ::close(ack_);
  control_ = ack_ = -1;
  if (child_ > 0) {
    ::kill(child_, SIGINT);
    int status = 0;
    const std::int64_t deadline = now_ns() + command_timeout_ns;
    while (::waitpid(child_, &status, WNOHANG) == 0) {
      if (now_ns() > deadline) {
        ::kill(child_, SIGKILL);
        ::waitpid(child_, &status, 0);
        break;
      }
      ::usleep(2000);
    }
    child_ = -1;
  }
}

bool PerfCounter::start(int pid, const std::string& perf_path, std::int64_t timeout_ns) {
  if (::access(perf_path.c_str(), X_OK) != 0) {
    error_ = perf_path + " not found or not executable";
    return false;
  }
  int control_pipe[2], ack_pipe[2];
  if (::pipe2(control_pipe, O_CLOEXEC) != 0 || ::pipe2(ack_pipe, O_CLOEXEC) != 0) {
    error_ = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  char path[] = "/tmp/loadgen-perf-XXXXXX";
  const int out = ::mkstemp(path);
  if (out < 0) {
    error_ = std::string("mkstemp: ") + std::strerror(errno);
    return false;
  }
  ::close(out);
  output_path_ = path;
  std::string pid_text;  // the server and its child processes (a sharded server's shards)
  for (const int p : process_tree(pid)) pid_text += (pid_text.empty() ? "" : ",") + std::to_string(p);
  const std::string events = std::string(syscall_event) + "," + std::string(switch_event);
  const std::string control = "fd:" + std::to_string(control_pipe[0]) + "," + std::to_string(ack_pipe[1]);
  const std::string filtered = std::string(syscall_event);
  std::vector<std::string> args = {perf_path, "stat", "-x,", "--no-big-num", "-e", events, "-e", filtered,
                                   "--filter", wait_filter(), "-p", pid_text, "-D", "-1", "--control", control,
                                   "-o", output_path_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t child = ::fork();
  if (child < 0) {
    error_ = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (child == 0) {
    // perf's ends of the pipes survive exec; everything else was opened close-on-exec.
    ::fcntl(control_pipe[0], F_SETFD, 0);
    ::fcntl(ack_pipe[1], F_SETFD, 0);
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);  // "Events enabled" on every command; failures show as a missing ack
    }
    ::execv(perf_path.c_str(), argv.data());
    ::_exit(127);
  }
  child_ = child;
  ::close(control_pipe[0]);
  ::close(ack_pipe[1]);
  control_ = control_pipe[1];
  ack_ = ack_pipe[0];
  // perf reads its control pipe only once every counter is open: an acknowledged no-op means it is attached.
  constexpr std::string_view probe = "disable\n";
  if (::write(control_, probe.data(), probe.size()) != static_cast<ssize_t>(probe.size()) || !wait_ack(timeout_ns)) {
    if (error_.empty()) error_ = "perf did not attach";
    stop_child();
    return false;
  }
  return true;
}

bool PerfCounter::wait_ack(std::int64_t timeout_ns) {
  const std::int64_t deadline = now_ns() + timeout_ns;
  char buffer[16];
  std::size_t got = 0;
  while (got < 4) {
    const std::int64_t left = deadline - now_ns();
    pollfd p{ack_, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left / 1'000'000) + 1) <= 0) {
      int status = 0;
      if (child_ > 0 && ::waitpid(child_, &status, WNOHANG) == child_) {
        child_ = -1;
        error_ = "perf exited before counting (not permitted? perf_event_paranoid, or the server is gone)";
      } else if (left <= 0) {
        error_ = "perf did not acknowledge within the timeout";
      } else {
        continue;
      }
      return false;
    }
    const ssize_t n = ::read(ack_, buffer + got, sizeof buffer - got);
    if (n <= 0) {
      error_ = "perf closed its control pipe (not permitted? the server is gone?)";
      return false;
    }
    got += static_cast<std::size_t>(n);
  }
  return std::string_view(buffer, 4) == "ack\n";
}

bool PerfCounter::command(std::string_view what) {
  if (control_ < 0) return false;
  const std::string line = std::string(what) + "\n";
  if (::write(control_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    error_ = "perf control pipe: " + std::string(std::strerror(errno));
    return false;
  }
  return wait_ack(command_timeout_ns);
}

std::optional<PerfCounts> PerfCounter::finish() {
  if (child_ <= 0) {
    if (error_.empty()) error_ = "perf was not running";
    return std::nullopt;
  }
  stop_child();
  std::ifstream in(output_path_);
  std::stringstream text;
  text << in.rdbuf();
  auto counts = parse_perf_stat_csv(text.str());
  if (!counts) error_ = "perf stat output had no counts for the three events";
  return counts;
}

}  // namespace tvt::loadgen
