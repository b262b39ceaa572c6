#include "loadgen/probe.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace tvt::loadgen {
namespace {

constexpr std::int64_t bytes_per_kib = 1024;

// "Name:   123 kB" lines of /proc/PID/status, /proc/meminfo and smaps_rollup.
std::int64_t kib_field(const std::string& text, const char* name) {
  const std::string key = std::string("\n") + name + ":";
  const std::string padded = "\n" + text;
  const auto pos = padded.find(key);
  if (pos == std::string::npos) return -1;
  return std::strtoll(padded.c_str() + pos + key.size(), nullptr, 10);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr std::string_view io_uring_link = "anon_inode:[io_uring]";

// Sockets in one ring's fixed-file table: its fdinfo has "UserFiles:\t<table size>", then one "<slot>: <path>" line
// per occupied slot, then "UserBufs:".
std::int64_t ring_fixed_sockets(const std::string& fdinfo_path) {
  std::istringstream info(read_all(fdinfo_path));
  std::string line;
  std::int64_t sockets = 0;
  bool in_files = false;
  while (std::getline(info, line)) {
    if (line.rfind("UserFiles:", 0) == 0) {
      in_files = true;
    } else if (in_files && line.rfind("  ", 0) == 0) {
      if (line.find(": socket:") != std::string::npos) ++sockets;
    } else if (in_files) {
      break;
    }
  }
  return sockets;
}

}  // namespace

ServerSample probe_server(int pid, ProbeDepth depth) {
  ServerSample s;
  const std::string base = "/proc/" + std::to_string(pid);
  const std::string status = read_all(base + "/status");
  if (status.empty()) return s;
  if (const auto v = kib_field(status, "VmRSS"); v >= 0) s.rss_bytes = v * bytes_per_kib;
  if (const auto v = kib_field(status, "VmPTE"); v >= 0) s.pte_bytes = v * bytes_per_kib;
  s.threads = kib_field(status, "Threads");
  // /proc/PID/stat: utime and stime are fields 14 and 15, counted after the ")" that ends the command name.
  const std::string stat = read_all(base + "/stat");
  if (const auto close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    long long utime = -1, stime = -1;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) utime = std::atoll(field.c_str());
      if (i == 15) stime = std::atoll(field.c_str());
    }
    if (utime >= 0 && stime >= 0) s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  if (depth == ProbeDepth::light) return s;
  const std::string rollup = read_all(base + "/smaps_rollup");
  if (const auto v = kib_field(rollup, "Pss"); v >= 0) s.pss_bytes = v * bytes_per_kib;
  if (DIR* dir = ::opendir((base + "/fd").c_str())) {
    std::int64_t count = 0, sockets = 0, fixed = 0;
    const std::string fd_dir = base + "/fd/";
    char link[64];
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      ++count;
      const ssize_t n = ::readlink((fd_dir + entry->d_name).c_str(), link, sizeof link - 1);
      if (n > 7 && std::memcmp(link, "socket:", 7) == 0) {
        ++sockets;
      } else if (n > 0 && std::string_view(link, static_cast<std::size_t>(n)) == io_uring_link) {
        fixed += ring_fixed_sockets(base + "/fdinfo/" + entry->d_name);
      }
    }
    ::closedir(dir);
    s.fds = count + fixed;
    s.sockets = sockets + fixed;
    s.fixed_sockets = fixed;
  }
  return s;
}

std::vector<int> process_tree(int pid) {
  std::vector<int> pids{pid};
  for (std::size_t i = 0; i < pids.size(); ++i) {
    const std::string task_dir = "/proc/" + std::to_string(pids[i]) + "/task";
    DIR* dir = ::opendir(task_dir.c_str());
    if (dir == nullptr) continue;
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      std::istringstream children(read_all(task_dir + "/" + entry->d_name + "/children"));
      for (int child = 0; children >> child;) pids.push_back(child);
    }
    ::closedir(dir);
  }
  return pids;
}

ServerSample probe_servers(const std::vector<int>& pids, ProbeDepth depth) {
  ServerSample sum{0, 0, 0, 0, 0, 0, 0, 0};
  auto add = [](auto& total, auto value) { total = (total < 0 || value < 0) ? -1 : total + value; };
  for (const int pid : pids) {
    const ServerSample s = probe_server(pid, depth);
    add(sum.rss_bytes, s.rss_bytes);
    add(sum.pss_bytes, s.pss_bytes);
    add(sum.pte_bytes, s.pte_bytes);
    add(sum.threads, s.threads);
    add(sum.cpu_s, s.cpu_s);
    add(sum.fds, s.fds);
    add(sum.sockets, s.sockets);
    add(sum.fixed_sockets, s.fixed_sockets);
  }
  return sum;
}

ServerSample probe_server_tree(int pid) { return probe_servers(process_tree(pid)); }

MachineSample probe_machine() {
  MachineSample m;
  const std::string meminfo = read_all("/proc/meminfo");
  if (const auto v = kib_field(meminfo, "KernelStack"); v >= 0) m.kernel_stack_bytes = v * bytes_per_kib;
  if (const auto v = kib_field(meminfo, "PageTables"); v >= 0) m.page_tables_bytes = v * bytes_per_kib;
  if (const auto v = kib_field(meminfo, "SUnreclaim"); v >= 0) m.slab_unreclaimable_bytes = v * bytes_per_kib;
  const std::string sockstat = read_all("/proc/net/sockstat");
  if (const auto pos = sockstat.find("\nTCP:"); pos != std::string::npos) {
    const auto line_end = sockstat.find('\n', pos + 1);
    const std::string line = sockstat.substr(pos, line_end - pos);
    if (const auto mem = line.find(" mem "); mem != std::string::npos)
      m.tcp_mem_bytes = std::strtoll(line.c_str() + mem + 5, nullptr, 10) * sysconf(_SC_PAGESIZE);
  }
  return m;
}

std::optional<std::int64_t> probe_open_file_limit(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("Max open files")) continue;
    std::istringstream fields(line.substr(std::strlen("Max open files")));
    std::string soft;
    if (fields >> soft && soft != "unlimited") return std::atoll(soft.c_str());
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::int64_t> probe_server_file_limit(int pid) {
  const auto pids = process_tree(pid);
  if (pids.size() == 1) return probe_open_file_limit(pid);
  std::int64_t total = 0;
  for (std::size_t i = 1; i < pids.size(); ++i) {
    const auto limit = probe_open_file_limit(pids[i]);
    if (!limit) return std::nullopt;
    total += *limit;
  }
  return total;
}

std::optional<std::int64_t> probe_sysctl(const std::string& path) {
  std::ifstream in(path);
  std::int64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

}  // namespace tvt::loadgen
