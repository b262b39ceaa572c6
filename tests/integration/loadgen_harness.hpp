#pragma once
// Test harness for loadgen integration tests: a real `server` child (support/server_process.hpp), a real `loadgen`
// child run to completion with a bounded wait, and a reader for its flat JSON record.
#include <fcntl.h>
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

#include "support/server_process.hpp"

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

// The server under load: the one server-process helper (support/server_process.hpp), as loadgen sees it.
class Server {
 public:
  explicit Server(const std::string& workload, const std::string& backend = "threads")
      : process_(config(workload, backend)) {}

  std::string target() const { return "127.0.0.1:" + std::to_string(process_.port()); }
  pid_t pid() const { return process_.pid(); }

 private:
  static test::ServerConfig config(const std::string& workload, const std::string& backend) {
    test::ServerConfig c;
    c.backend = backend;
    c.workload = workload;
    return c;
  }

  test::ServerProcess process_;
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
