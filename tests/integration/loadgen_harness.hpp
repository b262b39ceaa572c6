#pragma once
// Test harness for loadgen integration tests: a real `server` child (ready line parsed, SIGTERM on scope exit), a
// real `loadgen` child run to completion with a bounded wait, and a reader for its flat JSON record.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tvt::loadgen_test {

inline std::string bin(const std::string& name) { return std::string(TVT_BIN_DIR) + "/" + name; }

// Spawns argv with stdout to a pipe (or /dev/null); returns the pid.
inline pid_t spawn(const std::vector<std::string>& args, int* stdout_read = nullptr) {
  int out[2] = {-1, -1};
  if (stdout_read != nullptr && ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (stdout_read != nullptr) ::dup2(out[1], STDOUT_FILENO);
    else ::freopen("/dev/null", "w", stdout);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (stdout_read != nullptr) {
    ::close(out[1]);
    *stdout_read = out[0];
  }
  return pid;
}

class Server {
 public:
  explicit Server(const std::string& workload, const std::string& backend = "threads") {
    int out = -1;
    pid_ = spawn({bin("server"), "--backend", backend, "--workload", workload, "--port", "0"}, &out);
    std::string line;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up) {
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const auto n = ::read(out, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out);
    const auto at = line.find("ready port=");
    if (at == std::string::npos) {
      stop();
      throw std::runtime_error("server did not get ready: '" + line + "'");
    }
    port_ = std::stoi(line.substr(at + 11));
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() { stop(); }

  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() > give_up) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Waits for a child (≤ timeout, then SIGKILL); returns its exit code, or -1 if it had to be killed.
inline int wait_child(pid_t pid, std::chrono::seconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs loadgen to completion; its stdout goes to /dev/null, its record to a temporary JSON file that is read back.
struct LoadgenRun {
  int exit_code = -1;
  std::string json;
};

inline std::string temp_path(const std::string& stem) {
  return "/tmp/" + stem + "." + std::to_string(::getpid()) + "." +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline pid_t start_loadgen(std::vector<std::string> args, const std::string& json_path) {
  args.insert(args.begin(), bin("loadgen"));
  args.insert(args.end(), {"--json", json_path, "--quiet"});
  return spawn(args);
}

inline LoadgenRun run_loadgen(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  const std::string path = temp_path("loadgen_test.json");
  LoadgenRun run;
  run.exit_code = wait_child(start_loadgen(args, path), timeout);
  run.json = read_file(path);
  std::remove(path.c_str());
  return run;
}

// The value of a key in a flat JSON object, as text ("" if absent; strings without their quotes).
inline std::string json_field(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\": ";
  const auto at = json.find(needle);
  if (at == std::string::npos) return "";
  auto begin = at + needle.size();
  if (json[begin] == '"') {
    const auto end = json.find('"', begin + 1);
    return json.substr(begin + 1, end - begin - 1);
  }
  const auto end = json.find_first_of(",}", begin);
  return json.substr(begin, end - begin);
}

inline double json_number(const std::string& json, const std::string& key) {
  const std::string v = json_field(json, key);
  return v.empty() || v == "null" ? -1 : std::strtod(v.c_str(), nullptr);
}

}  // namespace tvt::loadgen_test
