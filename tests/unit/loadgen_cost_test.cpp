// What a run's work cost: the CPU-time sources (a thread that exits inside the window still counts), the
// per-operation arithmetic and the bound verdict, and the parsing of perf's counts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "loadgen/cost.hpp"
#include "loadgen/cpu_time.hpp"
#include "loadgen/perf_counter.hpp"

namespace {

using namespace tvt::loadgen;

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Sum over /proc/self/task/*/schedstat: what a per-thread reading sees (the live threads only).
std::int64_t live_threads_cpu_ns() {
  std::int64_t sum = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "schedstat");
    std::int64_t ns = 0;
    if (in >> ns) sum += ns;
  }
  return sum;
}

TEST(LoadgenCost, ProcessCpuClockKeepsAThreadThatExitedInsideTheWindow) {
  const auto start = process_cpu_ns(::getpid());
  const std::int64_t live_start = live_threads_cpu_ns();
  ASSERT_TRUE(start.has_value());
  std::atomic<std::int64_t> burned{0};
  std::thread worker([&] {
    const std::int64_t begin = thread_cpu_ns();
    volatile std::uint64_t x = 0;
    while (thread_cpu_ns() - begin < 50'000'000) x = x + 1;  // 50 ms of CPU, then the thread ends
    burned = thread_cpu_ns() - begin;
  });
  worker.join();
  const auto end = process_cpu_ns(::getpid());
  const std::int64_t live_end = live_threads_cpu_ns();
  ASSERT_TRUE(end.has_value());
  // The exited thread's 50 ms are in the process clock's window...
  EXPECT_GE(*end - *start, burned.load());
  // ...and not in a sum over the threads alive at the end, which sees only this thread's own time (why loadgen reads
  // the process clock).
  EXPECT_LT(live_end - live_start, *end - *start - burned.load() / 2);
}

TEST(LoadgenCost, ProcessCpuClockOfAnotherProcessAndOfNone) {
  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  EXPECT_TRUE(process_cpu_ns(child).has_value());
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_FALSE(process_cpu_ns(child).has_value());
}

TEST(LoadgenCost, CgroupUsageV1AndV2) {
  const std::string dir = "/tmp/loadgen_cost_test." + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/cpu.stat") << "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n";
  EXPECT_EQ(cgroup_cpu_ns(dir), 1'234'000);
  std::ofstream(dir + "/cpuacct.usage") << "987654321\n";  // v1 wins when present
  EXPECT_EQ(cgroup_cpu_ns(dir), 987'654'321);
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(cgroup_cpu_ns(dir).has_value());
}

TEST(LoadgenCost, PerOperationFiguresAndUtilisation) {
  CostWindow w;
  w.start_ns = 1'000'000'000;
  w.end_ns = 3'000'000'000;            // 2 s
  w.server_cpu_ns = 1'000'000'000;     // half a core
  w.client_cpu_ns = 1'900'000'000;     // 95 % of one core
  w.counts = PerfCounts{200'000, 1'000, 50'000};
  const Cost c = derive_cost(w, 100'000);
  EXPECT_DOUBLE_EQ(*c.server_cpu_us_per_op, 10.0);
  EXPECT_DOUBLE_EQ(*c.server_cpu_util, 0.5);
  EXPECT_DOUBLE_EQ(*c.client_cpu_util, 0.95);
  EXPECT_EQ(c.bound, "client");
  EXPECT_DOUBLE_EQ(*c.syscalls_per_op, 2.0);
  EXPECT_DOUBLE_EQ(*c.ctx_switches_per_op, 0.01);
  EXPECT_DOUBLE_EQ(*c.waits_per_op, 0.5);

  w.client_cpus = 2;  // the same CPU time over two cores is not saturation
  EXPECT_EQ(derive_cost(w, 100'000).bound, "neither");
  const Cost no_ops = derive_cost(w, 0);
  EXPECT_FALSE(no_ops.server_cpu_us_per_op.has_value());
  EXPECT_FALSE(no_ops.syscalls_per_op.has_value());
  EXPECT_TRUE(no_ops.server_cpu_util.has_value());
  w.server_cpu_ns.reset();
  EXPECT_EQ(derive_cost(w, 100'000).bound, "");  // a side not measured: no verdict rather than a wrong one
}

TEST(LoadgenCost, SpinningForDueSendsIsNotClientWork) {
  CostWindow w;
  w.start_ns = 0;
  w.end_ns = 2'000'000'000;
  w.server_cpu_ns = 600'000'000;
  w.client_cpu_ns = 1'990'000'000;  // the core never slept...
  w.client_spin_ns = 1'390'000'000; // ...but 1.39 s of it polled for sends not yet due
  const Cost c = derive_cost(w, 1);
  EXPECT_DOUBLE_EQ(*c.client_cpu_util, 0.3);
  EXPECT_EQ(c.bound, "neither");
  w.client_spin_ns = 3'000'000'000;  // spin measured in wall time while preempted: never below zero
  EXPECT_DOUBLE_EQ(*derive_cost(w, 1).client_cpu_util, 0.0);
}

TEST(LoadgenCost, BoundIsTheSideAtNinetyPercentTheBusierWhenBoth) {
  EXPECT_EQ(classify_bound(0.95, 0.5), "server");
  EXPECT_EQ(classify_bound(0.5, 0.9), "client");
  EXPECT_EQ(classify_bound(0.89, 0.89), "neither");
  EXPECT_EQ(classify_bound(0.97, 0.99), "client");
  EXPECT_EQ(classify_bound(0.99, 0.97), "server");
}

TEST(LoadgenCost, PerfStatCsvGivesTheThreeCountsByPosition) {
  // As printed by perf 6.1: `perf stat -x, -e raw_syscalls:sys_enter,context-switches -e raw_syscalls:sys_enter
  // --filter ...`; the filtered event has the same name and comes third.
  const std::string text =
      "# started on Sun Nov 29 20:00:00 2026\n\n"
      "Events disabled\n"
      "404216,,raw_syscalls:sys_enter,1999861234,100.00,,\n"
      "9283,,context-switches,1999861234,100.00,4.642,/sec\n"
      "3934,,raw_syscalls:sys_enter,1999861234,100.00,,\n";
  const auto counts = parse_perf_stat_csv(text);
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->syscalls, 404216);
  EXPECT_EQ(counts->context_switches, 9283);
  EXPECT_EQ(counts->waits, 3934);
  // A count perf could not take is no count, never a zero.
  EXPECT_FALSE(parse_perf_stat_csv("<not counted>,,raw_syscalls:sys_enter,0,100.00,,\n"
                                   "12,,context-switches,1,100.00,,\n"
                                   "3,,raw_syscalls:sys_enter,1,100.00,,\n")
                   .has_value());
  EXPECT_FALSE(parse_perf_stat_csv("").has_value());
}

TEST(LoadgenCost, MissingPerfIsAReasonNotACount) {
  PerfCounter perf;
  EXPECT_FALSE(perf.start(::getpid(), "/nonexistent/perf", 1'000'000'000));
  EXPECT_NE(perf.error().find("not found"), std::string::npos);
  EXPECT_FALSE(perf.finish().has_value());
}

}  // namespace
