#include "micro_main.hpp"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "phase_timer.hpp"

namespace tvt::micro {

namespace {

// One phase at a time runs (benchmarks run sequentially on the main thread); the watchdog sleeps on `changed` and
// wakes at the active phase's deadline. All state under `mutex`.
struct Watchdog {
  std::mutex mutex;
  std::condition_variable changed;
  bool active = false;
  std::string name;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::seconds limit{120};

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      if (!active) {
        changed.wait(lock);
        continue;
      }
      if (changed.wait_until(lock, deadline) == std::cv_status::timeout && active &&
          std::chrono::steady_clock::now() >= deadline) {
        std::fprintf(stderr, "bench_micro: %s ran %lld s without finishing a phase (a hang: lost wake-up?); exiting\n",
                     name.c_str(), static_cast<long long>(limit.count()));
        std::fflush(stderr);
        _exit(3);
      }
    }
  }
};

Watchdog& watchdog() {
  static Watchdog* instance = [] {
    auto* w = new Watchdog;  // never destroyed: its thread runs until the process exits
    if (const char* limit = std::getenv("TVT_MICRO_PHASE_TIMEOUT_S")) w->limit = std::chrono::seconds(std::atoi(limit));
    std::thread([w] { w->run(); }).detach();
    return w;
  }();
  return *instance;
}

}  // namespace

namespace {
std::string& current_name() {
  static std::string name;
  return name;
}
}  // namespace

void set_current_benchmark(const std::string& name) { current_name() = name; }
const std::string& current_benchmark() { return current_name(); }

void phase_started(benchmark::State&) {
  Watchdog& w = watchdog();
  {
    std::lock_guard lock(w.mutex);
    w.active = true;
    w.name = current_benchmark();
    w.deadline = std::chrono::steady_clock::now() + w.limit;
  }
  w.changed.notify_one();
}

void phase_finished() {
  Watchdog& w = watchdog();
  {
    std::lock_guard lock(w.mutex);
    w.active = false;
  }
  w.changed.notify_one();
}

std::string benchmark_name(const char* what, std::string_view model, const std::string& more) {
  std::string name = std::string(what) + "/model:" + std::string(model);
  if (!more.empty()) name += "/" + more;
  return name;
}

}  // namespace tvt::micro

int main(int argc, char** argv) {
  tvt::micro::MicroOptions options;
  static char repetitions[] = "--benchmark_repetitions=9";
  static char aggregates[] = "--benchmark_report_aggregates_only=true";
  static char min_time[] = "--benchmark_min_time=0.2";
  std::vector<char*> args{argv[0], repetitions, aggregates, min_time};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) options.smoke = true;
    else args.push_back(argv[i]);
  }
  args.push_back(nullptr);
  int benchmark_argc = static_cast<int>(args.size()) - 1;
  tvt::micro::register_benchmarks(options);
  benchmark::Initialize(&benchmark_argc, args.data());
  if (benchmark::ReportUnrecognizedArguments(benchmark_argc, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
