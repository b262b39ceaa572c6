#include "loadgen/churn.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "loadgen/cpu_time.hpp"
#include "loadgen/json_record.hpp"
#include "loadgen/probe.hpp"

namespace tvt::loadgen {
namespace {

std::atomic<bool> stop{false};
void on_stop(int) { stop.store(true); }  // lock-free atomic store: async-signal-safe

constexpr std::string_view request = "GET / HTTP/1.1\r\nHost: churn\r\nConnection: close\r\n\r\n";
constexpr std::string_view ok_status = "HTTP/1.1 200";

std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct ChurnOptions {
  std::string target = "127.0.0.1:0";
  double rate = 1000;
  double duration_s = 20;
  std::int64_t connections = 0;  // stop after starting this many (0 = no bound but the duration)
  int server_pid = 0;
  unsigned max_in_flight = 1000;  // a second of a 1,000/s schedule: a server (or machine) stalled that long drops none
  double timeout_s = 5;
  double settle_s = 5;
  std::string json_path, timeline_path;
};

// Counters the churn thread writes and the sampler reads (relaxed: each is a tally read once a second, no ordering
// with anything else is needed).
struct Tally {
  std::atomic<std::int64_t> churned{0};         // connect, request, verified reply, close
  std::atomic<std::int64_t> connect_errors{0};  // connect refused or failed
  std::atomic<std::int64_t> reply_errors{0};    // reset, or a reply other than 200 before the server's close
  std::atomic<std::int64_t> timeouts{0};        // not done within --timeout (or still out when the run ended)
  std::atomic<std::int64_t> dropped{0};         // due while --max-in-flight connections were out: the rate was not kept
  std::int64_t errors() const { return connect_errors.load() + reply_errors.load() + timeouts.load(); }
};

// One connection in flight. The slot index is the epoll user data.
struct Conn {
  int fd = -1;
  bool sent = false;
  std::int64_t started_ns = 0;
  std::size_t head_len = 0;
  char head[ok_status.size()] = {};
};

// The churn loop: one thread, one epoll set, at most max_in_flight connections. Connection k is due at start + k/rate;
// a due connection with no free slot is dropped (counted), never queued, so a slow server cannot shift the schedule.
class Churner {
 public:
  Churner(const ChurnOptions& o, sockaddr_in address, Tally& tally)
      : o_(o), address_(address), tally_(tally), conns_(o.max_in_flight), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    for (unsigned i = o.max_in_flight; i-- > 0;) free_.push_back(i);
  }
  Churner(const Churner&) = delete;
  Churner& operator=(const Churner&) = delete;
  ~Churner() {
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
    if (epoll_ >= 0) ::close(epoll_);
  }

  bool ok() const { return epoll_ >= 0; }

  void run(std::int64_t start_ns) {
    const std::int64_t end_ns = start_ns + static_cast<std::int64_t>(o_.duration_s * 1e9);
    const std::int64_t timeout_ns = static_cast<std::int64_t>(o_.timeout_s * 1e9);
    std::int64_t issued = 0;
    epoll_event events[64];
    for (;;) {
      const std::int64_t now = monotonic_ns();
      if (o_.rate <= 0) {  // only sampling: the sampler thread works until the duration ends or a signal comes
        if (stop.load() || now >= end_ns) break;
        const std::int64_t left_ms = (end_ns - now) / 1'000'000 + 1;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(50, left_ms)));
        continue;
      }
      const bool issuing = !stop.load() && now < end_ns && (o_.connections == 0 || started_ < o_.connections);
      if (!issuing && free_.size() == conns_.size()) break;
      if (!issuing && now >= end_ns + timeout_ns) break;  // whatever is still out counts as a timeout below
      std::int64_t next_due = now + 10'000'000;
      if (issuing) {
        while (o_.connections == 0 || started_ < o_.connections) {
          const std::int64_t due = start_ns + static_cast<std::int64_t>(static_cast<double>(issued) * 1e9 / o_.rate);
          if (due > now) {
            next_due = std::min(next_due, due);
            break;
          }
          ++issued;
          if (free_.empty()) {
            tally_.dropped.fetch_add(1, std::memory_order_relaxed);
          } else {
            open(now);
            ++started_;
          }
        }
      }
      for (unsigned i = 0; i < conns_.size(); ++i)
        if (conns_[i].fd >= 0 && now - conns_[i].started_ns > timeout_ns) finish(i, tally_.timeouts);
      const int wait_ms = static_cast<int>(std::clamp<std::int64_t>((next_due - now + 999'999) / 1'000'000, 0, 10));
      const int n = ::epoll_wait(epoll_, events, 64, wait_ms);
      for (int e = 0; e < n; ++e) on_event(events[e].data.u32);
    }
    for (unsigned i = 0; i < conns_.size(); ++i)
      if (conns_[i].fd >= 0) finish(i, tally_.timeouts);
  }

 private:
  void open(std::int64_t now) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      tally_.connect_errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const unsigned slot = free_.back();
    free_.pop_back();
    conns_[slot] = Conn{};
    conns_[slot].fd = fd;
    conns_[slot].started_ns = now;
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u32 = slot;
    if ((::connect(fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_) != 0 && errno != EINPROGRESS) ||
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
      finish(slot, tally_.connect_errors);
  }

  void on_event(unsigned slot) {
    Conn& c = conns_[slot];
    if (c.fd < 0) return;  // closed by a timeout earlier in this batch
    if (!c.sent) {
      int error = 0;
      socklen_t len = sizeof error;
      if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
        finish(slot, tally_.connect_errors);
        return;
      }
      // A fresh connection's send buffer takes the whole request at once; anything short of that is an error here.
      if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        finish(slot, tally_.reply_errors);
        return;
      }
      c.sent = true;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = slot;
      if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev) != 0) finish(slot, tally_.reply_errors);
      return;
    }
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        const std::size_t take = std::min(sizeof c.head - c.head_len, static_cast<std::size_t>(n));
        std::memcpy(c.head + c.head_len, buffer, take);
        c.head_len += take;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      const bool verified = n == 0 && std::string_view(c.head, c.head_len) == ok_status;
      finish(slot, verified ? tally_.churned : tally_.reply_errors);
      return;
    }
  }

  void finish(unsigned slot, std::atomic<std::int64_t>& outcome) {
    outcome.fetch_add(1, std::memory_order_relaxed);
    ::close(conns_[slot].fd);  // also leaves the epoll set
    conns_[slot].fd = -1;
    free_.push_back(slot);
  }

  const ChurnOptions& o_;
  sockaddr_in address_;
  Tally& tally_;
  std::vector<Conn> conns_;
  std::vector<unsigned> free_;
  std::int64_t started_ = 0;
  int epoll_;
};

bool parse_target(const std::string& text, sockaddr_in& address) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  address = sockaddr_in{};
  address.sin_family = AF_INET;
  const int port = std::atoi(text.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  return ::inet_pton(AF_INET, text.substr(0, colon).c_str(), &address.sin_addr) == 1;
}

// The server's CPU seconds since `base_ns` (-1 when unreadable).
double cpu_since(int pid, std::int64_t base_ns) {
  const auto ns = process_cpu_ns(pid);
  return ns && base_ns >= 0 ? static_cast<double>(*ns - base_ns) / 1e9 : -1.0;
}

void add_server(JsonRecord& json, const std::string& prefix, const ServerSample& s) {
  json.add(prefix + "rss_bytes", s.rss_bytes);
  json.add(prefix + "fds", s.fds);
  json.add(prefix + "threads", s.threads);
}

}  // namespace

int run_churn(int argc, char** argv) {
  CLI::App app{"loadgen churn: connect, one http request, close, at a fixed rate; the server sampled every second"};
  ChurnOptions o;
  app.add_option("--target", o.target, "HOST:PORT of an http server (IPv4)")->required();
  app.add_option("--rate", o.rate, "Connections per second (0 = only sample the server)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--duration,-d", o.duration_s, "Seconds of churn")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--connections,-c", o.connections,
                 "Stop after starting this many connections (0 = churn for the whole duration)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--server-pid", o.server_pid, "Server process to sample (0 = none)");
  app.add_option("--max-in-flight", o.max_in_flight, "Connections out at once; a due one past it is dropped")
      ->check(CLI::Range(1u, 60000u))
      ->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "Seconds one connection may take")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--settle", o.settle_s, "Longest wait after the churn for the server's fds and threads to return "
                                         "to their idle counts")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--json", o.json_path, "Flat JSON record (atomically; '-' = stdout)");
  app.add_option("--timeline", o.timeline_path,
                 "Per-second CSV: second,churned,errors,server_rss_bytes,server_fds,server_threads,server_cpu_s");
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  sockaddr_in address{};
  if (!parse_target(o.target, address)) {
    std::fprintf(stderr, "loadgen churn: bad --target '%s' (want IPv4:PORT)\n", o.target.c_str());
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  rlimit files{};  // --max-in-flight sockets at once: raise the soft fd limit to the hard one, as loadgen does
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  struct sigaction action{};
  action.sa_handler = on_stop;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);

  const bool sampling = o.server_pid > 0;
  // Idle: a server may still be opening descriptors and starting threads after its ready line (asio's showed 8 fds
  // at one sample and 14 a moment later), so the idle sample is one that held still for 300 ms (2 s at most).
  ServerSample before = sampling ? probe_server(o.server_pid) : ServerSample{};
  for (auto still = std::chrono::steady_clock::now(), give_up = still + std::chrono::seconds(2);
       sampling && std::chrono::steady_clock::now() < give_up;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const ServerSample now = probe_server(o.server_pid);
    if (now.fds != before.fds || now.threads != before.threads) still = std::chrono::steady_clock::now();
    before = now;
    if (std::chrono::steady_clock::now() - still >= std::chrono::milliseconds(300)) break;
  }
  const std::int64_t cpu_base = sampling ? process_cpu_ns(o.server_pid).value_or(-1) : -1;
  std::printf("churn ready rss=%lld fds=%lld threads=%lld\n", static_cast<long long>(before.rss_bytes),
              static_cast<long long>(before.fds), static_cast<long long>(before.threads));
  std::fflush(stdout);

  Tally tally;
  Churner churner(o, address, tally);
  if (!churner.ok()) {
    std::fprintf(stderr, "loadgen churn: epoll_create1: %s\n", std::strerror(errno));
    return 1;
  }
  const std::int64_t start_ns = monotonic_ns();
  // The sampler: one row in the middle of each second, on a thread of its own so that reading /proc (a large fd
  // table takes milliseconds) never delays a connect.
  std::atomic<bool> churning{true};
  std::string timeline = "second,churned,errors,server_rss_bytes,server_fds,server_threads,server_cpu_s\n";
  std::thread sampler([&] {
    for (int second = 0;; ++second) {
      const auto at = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(start_ns)) +
                      std::chrono::milliseconds(1000 * second + 500);
      while (churning.load() && std::chrono::steady_clock::now() < at)
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            at - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
      if (!churning.load()) return;
      const ServerSample s = sampling ? probe_server(o.server_pid) : ServerSample{};
      char row[192];
      std::snprintf(row, sizeof row, "%d,%lld,%lld,%lld,%lld,%lld,%.3f\n", second,
                    static_cast<long long>(tally.churned.load(std::memory_order_relaxed)),
                    static_cast<long long>(tally.errors()), static_cast<long long>(s.rss_bytes),
                    static_cast<long long>(s.fds), static_cast<long long>(s.threads),
                    sampling ? cpu_since(o.server_pid, cpu_base) : -1.0);
      timeline += row;
    }
  });
  churner.run(start_ns);
  const double churn_s = static_cast<double>(monotonic_ns() - start_ns) / 1e9;
  churning.store(false);
  sampler.join();

  // After: the server's fds and threads should return to their idle counts; wait for that, within the settle budget.
  ServerSample after = sampling ? probe_server(o.server_pid) : ServerSample{};
  const auto settle_deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.settle_s);
  while (sampling && (after.fds > before.fds || after.threads > before.threads) &&
         std::chrono::steady_clock::now() < settle_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = probe_server(o.server_pid);
  }

  JsonRecord json;
  json.add("churn_rate", o.rate);
  json.add("churn_s", churn_s);
  json.add("churned", tally.churned.load());
  json.add("errors", tally.errors());
  json.add("connect_errors", tally.connect_errors.load());
  json.add("reply_errors", tally.reply_errors.load());
  json.add("timeouts", tally.timeouts.load());
  json.add("dropped", tally.dropped.load());
  add_server(json, "before_", before);
  add_server(json, "after_", after);
  json.add("server_cpu_s", sampling ? cpu_since(o.server_pid, cpu_base) : -1.0);
  json.add_bool("interrupted", stop.load());
  bool ok = o.json_path.empty() || write_file_atomically(o.json_path, json.str());
  if (!o.timeline_path.empty()) ok = write_file_atomically(o.timeline_path, timeline) && ok;
  if (!ok) std::fprintf(stderr, "loadgen churn: cannot write its outputs\n");
  std::printf("churned %lld errors %lld dropped %lld in %.1f s\n", static_cast<long long>(tally.churned.load()),
              static_cast<long long>(tally.errors()), static_cast<long long>(tally.dropped.load()), churn_s);
  const bool server_readable = !sampling || after.rss_bytes >= 0;
  return ok && server_readable && tally.errors() == 0 && tally.dropped.load() == 0 ? 0 : 1;
}

}  // namespace tvt::loadgen
