#pragma once
// What a memory sample holds: this process's resident set (from /proc/self/statm) and the machine-wide kernel memory
// a thread costs outside RSS (KernelStack, PageTables and Slab from /proc/meminfo). The /proc/meminfo figures are
// machine-wide, so other processes' activity is noise in them; they matter for threads, where they are 16 KiB+ per
// unit, and are near zero for every user-space model.
#include <cstdint>

namespace tvt::micro {

struct MemorySample {
  std::int64_t rss_bytes = 0;
  std::int64_t kernel_stack_bytes = 0;
  std::int64_t page_tables_bytes = 0;
  std::int64_t slab_bytes = 0;
};

MemorySample sample_memory();

// b - a, field by field.
MemorySample operator-(const MemorySample& b, const MemorySample& a);

}  // namespace tvt::micro
