#include "support/proc_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "loadgen/probe.hpp"

namespace tvt::test {
namespace {

std::string proc_path(pid_t pid, const char* leaf) { return "/proc/" + std::to_string(pid) + "/" + leaf; }

// The value of a "Key:   123 kB" line of /proc/PID/status.
std::optional<std::size_t> status_field(pid_t pid, const std::string& key) {
  std::ifstream status(proc_path(pid, "status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, key.size() + 1, key + ":") != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    std::size_t value = 0;
    std::string unit;
    fields >> value >> unit;
    return unit == "kB" ? value * 1024 : value;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::size_t> open_fd_count(pid_t pid) {
  DIR* dir = ::opendir(proc_path(pid, "fd").c_str());
  if (dir == nullptr) return std::nullopt;
  std::size_t count = 0;
  while (const dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++count;
  ::closedir(dir);
  return count + fixed_file_count(pid).value_or(0);
}

std::optional<std::size_t> fixed_file_count(pid_t pid) {
  const auto sample = loadgen::probe_server(static_cast<int>(pid));  // the same reading loadgen reports
  if (sample.fixed_sockets < 0) return std::nullopt;
  return static_cast<std::size_t>(sample.fixed_sockets);
}

std::optional<std::size_t> vm_rss_bytes(pid_t pid) { return status_field(pid, "VmRSS"); }

std::optional<std::size_t> thread_count(pid_t pid) { return status_field(pid, "Threads"); }

std::optional<std::chrono::duration<double>> cpu_time(pid_t pid) {
  std::ifstream stat(proc_path(pid, "stat"));
  std::string text;
  if (!std::getline(stat, text)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int index = 3; fields >> field; ++index) {  // field 3 is the state
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
      return std::chrono::duration<double>(static_cast<double>(utime + stime) / ticks_per_second);
    }
  }
  return std::nullopt;
}

}  // namespace tvt::test
