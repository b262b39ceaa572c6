#include "micro_main.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "phase_timer.hpp"

namespace tvt::micro {

namespace {

// The watchdog is a timer signal, not a thread: a second thread would make every later benchmark run in a
// multi-threaded process, and glibc's `__libc_single_threaded` never turns back, so coro-local's channels would pay
// locked instructions that its single-threaded server does not (runtimes/coro/detail/one_thread.hpp).
// The handler may call only async-signal-safe functions: the message is formatted before the timer is armed.
char hang_message[512];
std::size_t hang_message_length = 0;

extern "C" void on_phase_timeout(int) {
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, hang_message, hang_message_length);
  _exit(3);
}

unsigned phase_limit_s() {
  static const unsigned limit = [] {
    const char* text = std::getenv("TVT_MICRO_PHASE_TIMEOUT_S");
    const int value = text ? std::atoi(text) : 0;
    return value > 0 ? static_cast<unsigned>(value) : 120u;
  }();
  return limit;
}

void install_timeout_handler() {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_handler = on_phase_timeout;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(SIGALRM, &action, nullptr) == 0;
  }();
  (void)installed;
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
  install_timeout_handler();
  const int length = std::snprintf(hang_message, sizeof hang_message,
                                   "bench_micro: %s ran %u s without finishing a phase (a hang: lost wake-up?); "
                                   "exiting\n", current_benchmark().c_str(), phase_limit_s());
  hang_message_length = length < 0 ? 0 : std::min(static_cast<std::size_t>(length), sizeof hang_message - 1);
  // The handler reads the message only after alarm() arms the timer; the fence keeps the writes before it.
  std::atomic_signal_fence(std::memory_order_release);
  alarm(phase_limit_s());
}

void phase_finished() { alarm(0); }

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
