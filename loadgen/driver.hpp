#pragma once
// Drives the engine threads of a run, wherever they live: in this process (ThreadDriver) or in worker processes that
// re-execute this binary with a hidden flag and talk over pipes (ProcessDriver). The coordinator code in main.cpp
// (sampling, go, reporting) is the same for both.
//
// Worker pipe protocol, one line each: worker -> parent "ready <established>", then the serialized RunResult ending
// in "end"; parent -> worker "go <monotonic_ns>" or "stop".
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "loadgen/engine.hpp"

namespace tvt::loadgen {

class Driver {
 public:
  virtual ~Driver() = default;
  virtual bool start() = 0;                  // false: could not start (reason in error())
  virtual bool ready() = 0;                  // every engine thread finished connecting
  virtual std::int64_t established() = 0;    // valid once ready()
  virtual void go(std::int64_t go_ns) = 0;
  virtual void stop() = 0;                   // finish early (signal)
  virtual void cut_off() = 0;                // stop connecting: the verified connections are established (stepped)
  virtual bool done() = 0;
  virtual RunResult result() = 0;            // once done()
  virtual std::vector<pid_t> worker_pids() const { return {}; }  // worker processes, once started
  const std::string& error() const { return error_; }

 protected:
  std::string error_;
};

class ThreadDriver final : public Driver {
 public:
  ThreadDriver(const EngineConfig& config, std::uint32_t slot_begin, std::uint32_t slot_end, std::uint32_t threads);
  ~ThreadDriver() override;
  bool start() override;
  bool ready() override;
  std::int64_t established() override { return coordinator_.established.load(); }
  void go(std::int64_t go_ns) override { coordinator_.go_ns.store(go_ns); }
  void stop() override { coordinator_.stop.store(true); }
  void cut_off() override { coordinator_.cut_off.store(true); }
  bool done() override;
  RunResult result() override;

 private:
  const EngineConfig& config_;
  std::uint32_t slot_begin_, slot_end_, thread_count_;
  Coordinator coordinator_;
  std::vector<std::thread> threads_;
  std::vector<RunResult> results_;
  std::atomic<int> finished_{0};
};

class ProcessDriver final : public Driver {
 public:
  // `argv`: this process's own command line, passed on to each worker with the hidden worker flags.
  // The workers split slots [slot_begin, slot_end) (this rank's share of the run).
  ProcessDriver(std::vector<std::string> argv, std::uint32_t slot_begin, std::uint32_t slot_end,
                std::uint32_t processes, std::uint32_t threads);
  ~ProcessDriver() override;
  bool start() override;
  bool ready() override;
  std::int64_t established() override;
  void go(std::int64_t go_ns) override;
  void stop() override;
  void cut_off() override;  // SIGUSR2 to each worker
  bool done() override;
  RunResult result() override;
  std::vector<pid_t> worker_pids() const override;

 private:
  struct Worker {
    pid_t pid = -1;
    int to_worker = -1, from_worker = -1;
    std::string received;
    bool ready = false, finished = false, failed = false;
    std::int64_t established = 0;
    std::uint32_t slot_begin = 0, slot_end = 0;
    int wait_status = 0;  // waitpid's, once finished
  };
  void pump(Worker& w);  // reads what the worker wrote so far

  std::vector<std::string> argv_;
  std::uint32_t slot_begin_, slot_end_, process_count_, threads_;
  std::vector<Worker> workers_;
};

// The worker side of the pipe protocol: runs a ThreadDriver over the given slots; returns the exit code.
// `stop_requested` (SIGINT/SIGTERM, e.g. ProcessDriver::stop) ends it early with what it measured, like the parent;
// `cut_off_requested` (SIGUSR2, ProcessDriver::cut_off) ends its connecting.
int run_worker(const EngineConfig& config, const std::atomic<bool>& stop_requested,
               std::atomic<bool>& cut_off_requested);

}  // namespace tvt::loadgen
