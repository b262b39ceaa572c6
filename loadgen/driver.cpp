#include "loadgen/driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace tvt::loadgen {

ThreadDriver::ThreadDriver(const EngineConfig& config, std::uint32_t slot_begin, std::uint32_t slot_end,
                           std::uint32_t threads)
    : config_(config),
      slot_begin_(slot_begin),
      slot_end_(slot_end),
      thread_count_(std::max<std::uint32_t>(1, std::min(threads, slot_end - slot_begin))) {}

ThreadDriver::~ThreadDriver() {
  coordinator_.stop.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool ThreadDriver::start() {
  // Contiguous, even shares: the first (n % threads) threads take one connection more, none is dropped.
  const std::uint32_t n = slot_end_ - slot_begin_;
  results_.resize(thread_count_);
  std::uint32_t begin = slot_begin_;
  for (std::uint32_t i = 0; i < thread_count_; ++i) {
    const std::uint32_t share = n / thread_count_ + (i < n % thread_count_ ? 1 : 0);
    const std::uint32_t end = begin + share;
    threads_.emplace_back([this, i, begin, end] {
      results_[i] = engine_run(config_, coordinator_, begin, end);
      finished_.fetch_add(1);
    });
    begin = end;
  }
  return true;
}

bool ThreadDriver::ready() { return coordinator_.threads_ready.load() == static_cast<int>(thread_count_); }

bool ThreadDriver::done() { return finished_.load() == static_cast<int>(thread_count_); }

RunResult ThreadDriver::result() {
  for (auto& t : threads_) t.join();
  threads_.clear();
  RunResult merged;
  for (const auto& r : results_) merged.merge(r);
  return merged;
}

ProcessDriver::ProcessDriver(std::vector<std::string> argv, std::uint32_t slot_begin, std::uint32_t slot_end,
                             std::uint32_t processes, std::uint32_t threads)
    : argv_(std::move(argv)), slot_begin_(slot_begin), slot_end_(slot_end), process_count_(processes),
      threads_(threads) {}

ProcessDriver::~ProcessDriver() {
  for (auto& w : workers_) {
    if (w.pid > 0 && !w.finished) ::kill(w.pid, SIGTERM);
    if (w.to_worker >= 0) ::close(w.to_worker);
    if (w.from_worker >= 0) ::close(w.from_worker);
    if (w.pid > 0) ::waitpid(w.pid, nullptr, 0);
  }
}

bool ProcessDriver::start() {
  const std::uint32_t n = slot_end_ - slot_begin_;
  std::uint32_t begin = slot_begin_;
  workers_.resize(process_count_);
  for (std::uint32_t i = 0; i < process_count_; ++i) {
    const std::uint32_t end = begin + n / process_count_ + (i < n % process_count_ ? 1 : 0);
    const std::uint32_t threads = std::max<std::uint32_t>(1, threads_ / process_count_ + (i < threads_ % process_count_ ? 1 : 0));
    std::vector<std::string> args = argv_;
    args.insert(args.end(), {"--worker-internal", "--worker-slot-begin", std::to_string(begin), "--worker-slot-end",
                             std::to_string(end), "--worker-threads", std::to_string(threads)});
    std::vector<char*> c_args;
    for (auto& a : args) c_args.push_back(a.data());
    c_args.push_back(nullptr);
    int in_pipe[2], out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
      error_ = std::string("pipe: ") + std::strerror(errno);
      return false;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      error_ = std::string("fork: ") + std::strerror(errno);
      return false;
    }
    if (pid == 0) {
      ::dup2(in_pipe[0], STDIN_FILENO);
      ::dup2(out_pipe[1], STDOUT_FILENO);
      ::execv("/proc/self/exe", c_args.data());
      std::fprintf(stderr, "loadgen: exec of worker failed: %s\n", std::strerror(errno));
      ::_exit(127);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    workers_[i].pid = pid;
    workers_[i].slot_begin = begin;
    workers_[i].slot_end = end;
    workers_[i].to_worker = in_pipe[1];
    workers_[i].from_worker = out_pipe[0];
    ::fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    begin = end;
  }
  return true;
}

void ProcessDriver::pump(Worker& w) {
  if (w.from_worker < 0) return;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(w.from_worker, buffer, sizeof buffer);
    if (n > 0) {
      w.received.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {  // the worker closed its end: it exited
      ::close(w.from_worker);
      w.from_worker = -1;
      ::waitpid(w.pid, &w.wait_status, 0);
      w.pid = -1;
      w.finished = true;
      if (!w.received.ends_with("end\n")) w.failed = true;
      if (!w.ready) {
        w.ready = true;
        w.failed = true;
      }
    }
    break;
  }
  if (!w.ready) {
    const auto nl = w.received.find('\n');
    if (nl != std::string::npos) {
      const std::string line = w.received.substr(0, nl);
      w.received.erase(0, nl + 1);
      w.ready = true;
      if (line.starts_with("ready ")) {
        w.established = std::atoll(line.c_str() + 6);
      } else {
        w.failed = true;
      }
    }
  }
}

bool ProcessDriver::ready() {
  bool all = true;
  for (auto& w : workers_) {
    pump(w);
    all = all && w.ready;
  }
  return all;
}

std::int64_t ProcessDriver::established() {
  std::int64_t sum = 0;
  for (const auto& w : workers_) sum += w.established;
  return sum;
}

void ProcessDriver::go(std::int64_t go_ns) {
  const std::string line = "go " + std::to_string(go_ns) + "\n";
  for (auto& w : workers_)
    if (w.to_worker >= 0 && ::write(w.to_worker, line.data(), line.size()) < 0) w.failed = true;
}

void ProcessDriver::stop() {
  for (auto& w : workers_)
    if (w.pid > 0) ::kill(w.pid, SIGTERM);
}

void ProcessDriver::cut_off() {
  for (auto& w : workers_)
    if (w.pid > 0 && !w.finished) ::kill(w.pid, SIGUSR2);
}

bool ProcessDriver::done() {
  bool all = true;
  for (auto& w : workers_) {
    pump(w);
    all = all && w.finished;
  }
  return all;
}

RunResult ProcessDriver::result() {
  RunResult merged;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const Worker& w = workers_[i];
    auto r = w.failed ? std::nullopt : RunResult::parse(w.received);
    if (r) {
      merged.merge(*r);
      continue;
    }
    // Its connections' counts are lost with it: say which worker, how it ended and what is missing.
    std::string how = "sent no result";
    if (WIFSIGNALED(w.wait_status)) {
      const int sig = WTERMSIG(w.wait_status);
      const char* abbrev = ::sigabbrev_np(sig);
      how = "was killed by signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
    } else if (WIFEXITED(w.wait_status) && WEXITSTATUS(w.wait_status) != 0) {
      how = "exited " + std::to_string(WEXITSTATUS(w.wait_status));
    }
    error_ += (error_.empty() ? "" : "; ") + std::string("worker process ") + std::to_string(i + 1) + " of " +
              std::to_string(workers_.size()) + " " + how + " before sending its result; the requests of its " +
              std::to_string(w.slot_end - w.slot_begin) + " connections are not counted";
  }
  return merged;
}

int run_worker(const EngineConfig& config, const std::atomic<bool>& stop_requested,
               std::atomic<bool>& cut_off_requested) {
  const Options& o = config.options;
  ThreadDriver driver(config, o.slot_begin, o.slot_end, o.threads);
  driver.start();
  while (!driver.ready()) {
    if (stop_requested.load()) driver.stop();
    if (cut_off_requested.exchange(false)) driver.cut_off();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::string line = "ready " + std::to_string(driver.established()) + "\n";
  if (::write(STDOUT_FILENO, line.data(), line.size()) < 0) driver.stop();
  // Wait for the parent's word: "go <ns>", or "stop"/EOF (the parent gave up or died).
  std::string command;
  char c = 0;
  while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') command.push_back(c);
  if (command.starts_with("go ")) {
    driver.go(std::atoll(command.c_str() + 3));
  } else {
    driver.stop();
    driver.go(1);
  }
  while (!driver.done()) {
    if (stop_requested.load()) driver.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::string text = driver.result().serialize();
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data() + written, text.size() - written);
    if (n <= 0) return 1;
    written += static_cast<std::size_t>(n);
  }
  return 0;
}

std::vector<pid_t> ProcessDriver::worker_pids() const {
  std::vector<pid_t> pids;
  for (const auto& w : workers_)
    if (w.pid > 0) pids.push_back(w.pid);
  return pids;
}

}  // namespace tvt::loadgen
