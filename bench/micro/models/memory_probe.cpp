#include "models/memory_probe.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace tvt::micro {
namespace {

std::int64_t resident_bytes() {
  // statm: size resident shared text lib data dt, in pages. One small read, no allocation.
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  long long size_pages = 0, resident_pages = 0;
  const int fields = std::fscanf(statm, "%lld %lld", &size_pages, &resident_pages);
  std::fclose(statm);
  return fields == 2 ? resident_pages * sysconf(_SC_PAGESIZE) : 0;
}

void read_meminfo(MemorySample& sample) {
  std::FILE* meminfo = std::fopen("/proc/meminfo", "r");
  if (meminfo == nullptr) return;
  char line[256];
  while (std::fgets(line, sizeof line, meminfo) != nullptr) {
    long long kib = 0;
    if (std::sscanf(line, "KernelStack: %lld kB", &kib) == 1) sample.kernel_stack_bytes = kib * 1024;
    else if (std::sscanf(line, "PageTables: %lld kB", &kib) == 1) sample.page_tables_bytes = kib * 1024;
    else if (std::sscanf(line, "Slab: %lld kB", &kib) == 1) sample.slab_bytes = kib * 1024;
  }
  std::fclose(meminfo);
}

}  // namespace

MemorySample sample_memory() {
  MemorySample sample;
  sample.rss_bytes = resident_bytes();
  read_meminfo(sample);
  return sample;
}

MemorySample operator-(const MemorySample& b, const MemorySample& a) {
  return {b.rss_bytes - a.rss_bytes, b.kernel_stack_bytes - a.kernel_stack_bytes,
          b.page_tables_bytes - a.page_tables_bytes, b.slab_bytes - a.slab_bytes};
}

}  // namespace tvt::micro
