#include "models/threads_model.hpp"

#include <cstdio>

namespace tvt::micro {
namespace {

long long read_number(const char* path) {
  std::FILE* file = std::fopen(path, "r");
  if (file == nullptr) return 0;
  long long value = 0;
  if (std::fscanf(file, "%lld", &value) != 1) value = 0;
  std::fclose(file);
  return value;
}

// /proc/loadavg's fourth field is "runnable/total" scheduling entities, i.e. threads alive machine-wide.
long long threads_alive() {
  std::FILE* file = std::fopen("/proc/loadavg", "r");
  if (file == nullptr) return 0;
  double one, five, fifteen;
  long long runnable = 0, total = 0;
  if (std::fscanf(file, "%lf %lf %lf %lld/%lld", &one, &five, &fifteen, &runnable, &total) != 5) total = 0;
  std::fclose(file);
  return total;
}

long long mappings_of_this_process() {
  std::FILE* file = std::fopen("/proc/self/maps", "r");
  if (file == nullptr) return 0;
  long long lines = 0;
  for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file)) lines += c == '\n';
  std::fclose(file);
  return lines;
}

}  // namespace

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {0};
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

std::size_t threads_available(std::size_t headroom) {
  long long limit = read_number("/proc/sys/kernel/pid_max");
  const long long threads_max = read_number("/proc/sys/kernel/threads-max");
  if (threads_max > 0 && threads_max < limit) limit = threads_max;
  long long available = limit - threads_alive() - static_cast<long long>(headroom);
  const long long map_limit = (read_number("/proc/sys/vm/max_map_count") - mappings_of_this_process()) / 2 -
                              static_cast<long long>(headroom);
  if (map_limit < available) available = map_limit;
  return available > 0 ? static_cast<std::size_t>(available) : 0;
}

}  // namespace tvt::micro
