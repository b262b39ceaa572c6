#include "loadgen/cpu_time.hpp"

#include <sched.h>
#include <time.h>

#include <fstream>
#include <string>

namespace tvt::loadgen {

std::optional<std::int64_t> process_cpu_ns(pid_t pid) {
  clockid_t clock{};
  if (::clock_getcpuclockid(pid, &clock) != 0) return std::nullopt;
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return std::nullopt;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::optional<std::int64_t> cgroup_cpu_ns(const std::string& dir) {
  if (std::ifstream v1(dir + "/cpuacct.usage"); v1) {
    std::int64_t ns = -1;
    if (v1 >> ns && ns >= 0) return ns;
    return std::nullopt;
  }
  std::ifstream v2(dir + "/cpu.stat");
  std::string key;
  std::int64_t value = 0;
  while (v2 >> key >> value)
    if (key == "usage_usec") return value * 1000;
  return std::nullopt;
}

std::optional<int> cpus_allowed(pid_t pid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(pid, sizeof set, &set) != 0) return std::nullopt;
  return CPU_COUNT(&set);
}

}  // namespace tvt::loadgen
