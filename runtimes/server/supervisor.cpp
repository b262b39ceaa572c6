#include "server/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "net/socket.hpp"

namespace tvt::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto ready_budget = std::chrono::seconds(30);  // every shard's start-up, together
// A shard enforces the server's own graceful-stop budget (1.8 s, then it exits 3 by itself); past this margin the
// supervisor SIGKILLs it, so a stop never hangs.
constexpr auto stop_budget = std::chrono::milliseconds(2500);
constexpr int shard_listen_fd = 3;
constexpr int reap_wait_ms = 20;

struct Shard {
  pid_t pid = -1;
  int ready_pipe = -1;  // read end of the shard's stdout, until its ready line
  std::string output;   // what it printed so far
  bool ready = false;
  bool running = false;  // started and not yet reaped
  int status = 0;       // its wait status, once reaped
};

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

// fork + exec of this executable as one shard. In the child only async-signal-safe calls run until execv.
pid_t start_shard(char* const* argv, int listen_fd, int stdout_fd, pid_t supervisor) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a supervisor killed outright takes its shards with it
  if (::getppid() != supervisor) ::_exit(1);  // it died before prctl took effect
  if (::dup2(stdout_fd, STDOUT_FILENO) < 0) ::_exit(1);
  // dup2 onto itself keeps FD_CLOEXEC, so the socket already at fd 3 has it cleared by hand.
  if (listen_fd == shard_listen_fd ? ::fcntl(listen_fd, F_SETFD, 0) < 0 : ::dup2(listen_fd, shard_listen_fd) < 0)
    ::_exit(1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv("/proc/self/exe", argv);
  ::_exit(127);
}

class Supervisor {
 public:
  explicit Supervisor(unsigned shards) : shards_(shards) {}
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;
  // Whatever happened, no shard outlives the supervisor's return.
  ~Supervisor() { stop_all(); }

  // Reaps every shard that has ended; returns the index of one that ended on its own (-1 if none did).
  int reap() {
    int ended = -1;
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return ended;
      for (std::size_t i = 0; i < shards_.size(); ++i)
        if (shards_[i].running && shards_[i].pid == pid) {
          shards_[i].running = false;
          shards_[i].status = status;
          if (!stopping_ && ended < 0) ended = static_cast<int>(i);
        }
    }
  }

  // SIGTERM to every running shard, SIGKILL to those still running after the budget; all reaped on return. The exit
  // code: 0 if every shard stopped cleanly, else the first non-zero code (1 for a shard killed by a signal).
  int stop_all() {
    if (stopping_) return stop_code_;
    stopping_ = true;
    for (auto& s : shards_)
      if (s.running) ::kill(s.pid, SIGTERM);
    const auto deadline = Clock::now() + stop_budget;
    while (any_running() && Clock::now() < deadline) {
      reap();
      wait_for_child(reap_wait_ms);
    }
    for (auto& s : shards_)
      if (s.running) ::kill(s.pid, SIGKILL);
    while (any_running()) {
      reap();
      if (any_running()) wait_for_child(reap_wait_ms);
    }
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      const Shard& s = shards_[i];
      if (s.pid <= 0 || (WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0)) continue;
      if (!reported_) std::fprintf(stderr, "server: shard %zu (pid %d) %s while stopping\n", i, s.pid, describe(s.status).c_str());
      stop_code_ = WIFEXITED(s.status) ? WEXITSTATUS(s.status) : 1;
      break;
    }
    return stop_code_;
  }

  void report_death(int index, const char* when) {
    const Shard& s = shards_[static_cast<std::size_t>(index)];
    std::fprintf(stderr, "server: shard %d of %zu (pid %d) %s %s; stopping the other shards\n", index, shards_.size(),
                 s.pid, describe(s.status).c_str(), when);
    reported_ = true;
  }

  std::vector<Shard>& shards() { return shards_; }

  // Blocks up to `ms` for SIGCHLD (blocked, so it stays pending until taken here).
  static void wait_for_child(int ms) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    const timespec timeout{0, ms * 1'000'000L};
    ::sigtimedwait(&set, nullptr, &timeout);
  }

 private:
  bool any_running() const {
    for (const auto& s : shards_)
      if (s.running) return true;
    return false;
  }

  std::vector<Shard> shards_;
  bool stopping_ = false;
  int stop_code_ = 0;
  bool reported_ = false;  // a death was already reported: stopping the rest needs no second line
};

// Reads what shard `s` printed; true once its ready line (with its own pid) arrived. Sets `failed` on a line that is
// not the ready line, or on end of file first.
bool read_ready(Shard& s, bool& failed) {
  char buffer[256];
  const ssize_t n = ::read(s.ready_pipe, buffer, sizeof buffer);
  if (n < 0) return false;  // EINTR/EAGAIN: poll again
  if (n == 0) {
    failed = true;
    return false;
  }
  s.output.append(buffer, static_cast<std::size_t>(n));
  const auto newline = s.output.find('\n');
  if (newline == std::string::npos) {
    failed = s.output.size() > 200;
    return false;
  }
  unsigned port = 0;
  int pid = 0;
  if (std::sscanf(s.output.c_str(), "ready port=%u pid=%d", &port, &pid) != 2 || pid != s.pid) {
    failed = true;
    return false;
  }
  return true;
}

}  // namespace

int run_supervisor(char** argv, unsigned shards, const std::string& host, std::uint16_t port) {
  // Stop signals and SIGCHLD are taken synchronously (sigtimedwait); the shards unblock them before exec.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<net::UniqueFd> sockets;
  try {
    sockets.push_back(net::listen_tcp(host, port, true));
    port = net::local_port(sockets.front().get());
    while (sockets.size() < shards) sockets.push_back(net::listen_tcp(host, port, true));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "server: %s\n", e.what());
    return 1;
  }

  // The shard's argv: the supervisor's own, which tells it everything else, plus the socket it is given.
  std::vector<std::string> args;
  for (char** a = argv; *a != nullptr; ++a) args.emplace_back(*a);
  args.emplace_back("--listen-fd");
  args.emplace_back(std::to_string(shard_listen_fd));
  std::vector<char*> child_argv;
  for (auto& a : args) child_argv.push_back(a.data());
  child_argv.push_back(nullptr);

  Supervisor supervisor(shards);
  auto& all = supervisor.shards();
  const pid_t self = ::getpid();
  for (std::size_t i = 0; i < all.size(); ++i) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      std::fprintf(stderr, "server: pipe for shard %zu: %s\n", i, std::strerror(errno));
      supervisor.stop_all();
      return 1;
    }
    const pid_t pid = start_shard(child_argv.data(), sockets[i].get(), out[1], self);
    ::close(out[1]);
    sockets[i] = net::UniqueFd();  // the shard holds it now: when the shard dies, the kernel stops routing to it
    if (pid < 0) {
      ::close(out[0]);
      std::fprintf(stderr, "server: cannot start shard %zu: %s\n", i, std::strerror(errno));
      supervisor.stop_all();
      return 1;
    }
    all[i].pid = pid;
    all[i].running = true;
    all[i].ready_pipe = out[0];
  }

  // Every shard's ready line, within the budget.
  const auto deadline = Clock::now() + ready_budget;
  std::size_t ready = 0;
  auto close_pipes = [&] {
    for (auto& s : all)
      if (s.ready_pipe >= 0) {
        ::close(s.ready_pipe);
        s.ready_pipe = -1;
      }
  };
  while (ready < all.size()) {
    if (Clock::now() >= deadline) {
      std::fprintf(stderr, "server: %zu of %zu shards ready after %lld s; stopping them\n", ready, all.size(),
                   static_cast<long long>(ready_budget.count()));
      close_pipes();
      supervisor.stop_all();
      return 1;
    }
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (!all[i].ready) {
        fds.push_back({all[i].ready_pipe, POLLIN, 0});
        which.push_back(i);
      }
    ::poll(fds.data(), fds.size(), 100);
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Shard& s = all[which[k]];
      bool failed = false;
      if (read_ready(s, failed)) {
        s.ready = true;
        ++ready;
        ::close(s.ready_pipe);
        s.ready_pipe = -1;
      } else if (failed) {
        // Its own error went to stderr (shared); reap it for the status if it has ended.
        Supervisor::wait_for_child(reap_wait_ms);
        supervisor.reap();
        std::fprintf(stderr, "server: shard %zu (pid %d) did not start: %s\n", which[k], s.pid,
                     s.running ? ("printed '" + s.output.substr(0, s.output.find('\n')) + "'").c_str()
                               : describe(s.status).c_str());
        close_pipes();
        supervisor.stop_all();
        return 1;
      }
    }
    if (const int dead = supervisor.reap(); dead >= 0) {
      supervisor.report_death(dead, "before it was ready");
      close_pipes();
      supervisor.stop_all();
      return 1;
    }
    siginfo_t info;
    const timespec now{0, 0};
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    if (::sigtimedwait(&stops, &info, &now) > 0) {
      close_pipes();
      return supervisor.stop_all();
    }
  }

  std::printf("ready port=%u pid=%d\n", static_cast<unsigned>(port), self);
  std::fflush(stdout);

  for (;;) {
    siginfo_t info;
    const timespec poll_interval{1, 0};
    const int sig = ::sigtimedwait(&handled, &info, &poll_interval);
    if (sig == SIGINT || sig == SIGTERM) return supervisor.stop_all();
    if (const int dead = supervisor.reap(); dead >= 0) {
      supervisor.report_death(dead, "while serving");
      supervisor.stop_all();
      return 1;
    }
  }
}

}  // namespace tvt::server
