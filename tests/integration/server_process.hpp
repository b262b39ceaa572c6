#pragma once
// Integration-test helpers: run a real `server` process and talk to it over loopback with raw blocking sockets.
// Every wait is bounded, so a broken server fails a test instead of hanging it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/socket.hpp"
#include "net/unique_fd.hpp"

namespace tvt::testing {

inline std::string server_path() { return std::string(TVT_BIN_DIR) + "/server"; }

// The names `server --list-backends` prints: tests iterate the registry instead of naming back ends.
inline std::vector<std::string> registered_backends() {
  std::vector<std::string> names;
  FILE* p = ::popen((server_path() + " --list-backends").c_str(), "r");
  if (p == nullptr) return names;
  char line[256];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string name(line);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    if (!name.empty()) names.push_back(name);
  }
  ::pclose(p);
  return names;
}

// A gtest parameter name for a back end ("asio-mt" -> "asio_mt", "threads --thread-cache 64" ->
// "threads___thread_cache_64").
inline std::string backend_test_name(const ::testing::TestParamInfo<std::string>& param) {
  std::string name = param.param;
  for (auto& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

class ServerProcess {
 public:
  // Starts `server --backend B --workload W --port 0 extra...` and waits (≤ 10 s) for its ready line.
  // `max_open_files` > 0 lowers RLIMIT_NOFILE in the child (EMFILE tests).
  ServerProcess(const std::string& backend, const std::string& workload, std::vector<std::string> extra = {},
                long max_open_files = 0) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    // `backend` may carry a variant's arguments after the name ("threads --chat-writer inline").
    std::vector<std::string> args = {server_path(), "--backend"};
    std::istringstream words(backend);
    for (std::string word; words >> word;) args.push_back(word);
    args.insert(args.end(), {"--workload", workload, "--port", "0"});
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that aborts must not leave servers behind
      ::dup2(out[1], STDOUT_FILENO);
      if (max_open_files > 0) {
        rlimit rl{static_cast<rlim_t>(max_open_files), static_cast<rlim_t>(max_open_files)};
        ::setrlimit(RLIMIT_NOFILE, &rl);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    net::UniqueFd read_end(out[0]);
    std::string line;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up) {
      pollfd p{read_end.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const auto n = ::read(read_end.get(), buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    const auto at = line.find("ready port=");
    if (at == std::string::npos) {
      stop();
      throw std::runtime_error("server did not get ready: '" + line + "'");
    }
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + 11)));
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { stop(); }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  // SIGTERM, then wait up to `budget`; returns the exit code, or -1 if it had to be killed.
  int stop(std::chrono::milliseconds budget = std::chrono::milliseconds(2500)) {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    const auto give_up = std::chrono::steady_clock::now() + budget;
    int status = 0;
    for (;;) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() > give_up) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        exit_code_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    return exit_code_;
  }

  // Resident set size from /proc (bytes), 0 if unknown.
  long rss_bytes() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    long kb = 0;
    while (status >> key) {
      if (key == "VmRSS:") {
        status >> kb;
        return kb * 1024;
      }
      status.ignore(1 << 16, '\n');
    }
    return 0;
  }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int exit_code_ = -1;
};

// A blocking client socket with bounded reads.
class Client {
 public:
  explicit Client(std::uint16_t port) : fd_(net::connect_tcp("127.0.0.1", port)) {}

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = net::send_some(fd_.get(), bytes.data(), bytes.size());
      if (n <= 0) throw std::runtime_error("send failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads until `lines` complete lines are buffered (or timeout / EOF); returns and removes them.
  std::vector<std::string> read_lines(std::size_t lines, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (count_lines() < lines && !eof_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fill(static_cast<int>(left.count()))) break;
    }
    std::vector<std::string> out;
    while (out.size() < lines) {
      const auto nl = buffer_.find('\n');
      if (nl == std::string::npos) break;
      out.push_back(buffer_.substr(0, nl));
      buffer_.erase(0, nl + 1);
    }
    return out;
  }

  // Everything that arrives within `quiet` of the last byte (for "nothing more came" checks).
  std::string drain(std::chrono::milliseconds quiet = std::chrono::milliseconds(200)) {
    while (!eof_ && fill(static_cast<int>(quiet.count()))) {
    }
    return std::exchange(buffer_, {});
  }

  // True once the server has closed the connection (reads until EOF, bounded).
  bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (!eof_ && std::chrono::steady_clock::now() < give_up) fill(50);
    return eof_;
  }

  int fd() const { return fd_.get(); }

 private:
  std::size_t count_lines() const { return static_cast<std::size_t>(std::count(buffer_.begin(), buffer_.end(), '\n')); }

  // One poll + recv; false on timeout or EOF.
  bool fill(int timeout_ms) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[64 * 1024];
    const auto n = net::recv_some(fd_.get(), buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  net::UniqueFd fd_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace tvt::testing
