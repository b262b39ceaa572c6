// openloop_client: an independent wrk2-style open-loop HTTP client, the yardstick for loadgen's open-loop latencies
// (issue 13.5). It shares NO code with loadgen (nor with anything else of the suite), so a bias in loadgen's send
// timing or per-request path cannot hide in both.
//
// One thread, one epoll set, N keep-alive connections. Connection i (of N, total rate R) is due at
// start + i/R + k·N/R, as wrk2 spaces them; one request in flight per connection; a request whose predecessor is still
// out leaves when that reply arrives, and its latency still counts from when it was due:
//   corrected   = reply complete − due       (coordinated omission corrected, as wrk2)
//   uncorrected = reply complete − sent
//   lateness    = sent − due                 (the client's own delay)
// Every latency of the measured window (dues in [start + warmup, start + warmup + duration)) is kept and sorted:
// exact percentiles, no histogram library (Debian has no C/C++ HdrHistogram).
//
// --wait spin (default): busy-polls epoll with a zero timeout, so a send leaves within a clock read of its due time
// and a reply is seen as soon as the kernel queues it; the client's core is 100 % busy by design.
// --wait block: sleeps in epoll_pwait2 until the next due (1 ns timer slack), as a frugal client would; the difference
// between the two modes is the cost of waking a sleeping client core.
//
//   openloop_client --port P [--host 127.0.0.1] [-c 100] [--rate 20000] [-d 10] [--warmup 1] [--wait spin|block]
// prints one JSON object on stdout (latencies in µs).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;
constexpr std::int64_t reply_timeout_ns = 10 * ns_per_s;

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * ns_per_s + ts.tv_nsec;
}

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 100;
  double rate = 20'000;
  double duration_s = 10;
  double warmup_s = 1;
  bool spin = true;
};

// One reply at a time per connection: header up to "\r\n\r\n", then Content-Length body bytes.
struct Connection {
  int fd = -1;
  bool awaiting = false;
  std::int64_t next_due_ns = 0, due_ns = 0, sent_ns = 0;
  std::string in;
};

bool usage(const char* why) {
  std::fprintf(stderr, "openloop_client: %s\nusage: openloop_client --port P [--host H] [-c N] [--rate R] [-d S] "
                       "[--warmup S] [--wait spin|block]\n", why);
  return false;
}

bool parse(int argc, char** argv, Config& c) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return usage("missing value");
    const char* v = argv[++i];
    if (a == "--host") c.host = v;
    else if (a == "--port") c.port = std::atoi(v);
    else if (a == "-c" || a == "--connections") c.connections = std::atoi(v);
    else if (a == "--rate") c.rate = std::atof(v);
    else if (a == "-d" || a == "--duration") c.duration_s = std::atof(v);
    else if (a == "--warmup") c.warmup_s = std::atof(v);
    else if (a == "--wait") c.spin = std::string_view(v) != "block";
    else return usage("unknown option");
  }
  if (c.port <= 0 || c.connections <= 0 || c.rate <= 0 || c.duration_s <= 0) return usage("bad values");
  return true;
}

// Returns the byte count of one complete reply at the front of `in`, 0 if incomplete, -1 if malformed.
long complete_reply(const std::string& in) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string::npos) return in.size() > 8192 ? -1 : 0;
  if (in.compare(0, 13, "HTTP/1.1 200 ") != 0) return -1;
  long length = -1;
  for (std::size_t p = in.find("\r\n"); p < end; p = in.find("\r\n", p + 2)) {
    static constexpr std::string_view name = "content-length:";
    if (end - (p + 2) < name.size()) continue;
    bool match = true;
    for (std::size_t k = 0; k < name.size() && match; ++k)
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(in[p + 2 + k]))) == name[k];
    if (match) length = std::strtol(in.c_str() + p + 2 + name.size(), nullptr, 10);
  }
  if (length < 0) return -1;
  const long total = static_cast<long>(end + 4) + length;
  return static_cast<long>(in.size()) >= total ? total : 0;
}

double percentile_us(std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return -1;
  const auto rank = static_cast<std::size_t>(std::max(1.0, q / 100.0 * static_cast<double>(sorted.size()) + 0.5));
  return static_cast<double>(sorted[std::min(rank, sorted.size()) - 1]) / 1000.0;
}

void print_percentiles(const char* name, std::vector<std::int64_t>& values) {
  std::sort(values.begin(), values.end());
  std::printf("\"%s_p50_us\": %.1f, \"%s_p90_us\": %.1f, \"%s_p99_us\": %.1f, \"%s_p999_us\": %.1f, ", name,
              percentile_us(values, 50), name, percentile_us(values, 90), name, percentile_us(values, 99), name,
              percentile_us(values, 99.9));
}

int run(const Config& cfg) {
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(cfg.port));
  if (inet_pton(AF_INET, cfg.host.c_str(), &address.sin_addr) != 1) {
    usage("bad host");
    return 2;
  }
  const std::string request = "GET / HTTP/1.1\r\nHost: " + cfg.host + "\r\n\r\n";
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Connection> conns(static_cast<std::size_t>(cfg.connections));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      std::fprintf(stderr, "openloop_client: connect: %s\n", std::strerror(errno));
      return 1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    conns[i].fd = fd;
  }
  const auto n = static_cast<double>(conns.size());
  const auto interval_ns = static_cast<std::int64_t>(n * ns_per_s / cfg.rate);
  const std::int64_t start = now_ns() + ns_per_s / 100;
  const std::int64_t window_start = start + static_cast<std::int64_t>(cfg.warmup_s * ns_per_s);
  const std::int64_t window_end = window_start + static_cast<std::int64_t>(cfg.duration_s * ns_per_s);
  for (std::size_t i = 0; i < conns.size(); ++i)
    conns[i].next_due_ns = start + static_cast<std::int64_t>(static_cast<double>(i) * ns_per_s / cfg.rate);
  const auto expected = static_cast<std::size_t>(cfg.rate * cfg.duration_s * 1.1) + 16;
  std::vector<std::int64_t> corrected, uncorrected, lateness;
  corrected.reserve(expected);
  uncorrected.reserve(expected);
  lateness.reserve(expected);
  std::int64_t scheduled = 0, errors = 0, late_over_50us = 0;

  auto send_due = [&](Connection& c, std::int64_t now) {
    c.due_ns = c.next_due_ns;
    c.next_due_ns += interval_ns;
    c.sent_ns = now;
    c.awaiting = true;
    if (c.due_ns >= window_start && c.due_ns < window_end) {
      ++scheduled;
      lateness.push_back(now - c.due_ns);
      if (now - c.due_ns > 50'000) ++late_over_50us;
    }
    if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) ++errors;
  };

  epoll_event events[256];
  char buffer[16384];
  for (;;) {
    std::int64_t now = now_ns();
    std::int64_t next = INT64_MAX;
    bool outstanding = false;
    for (auto& c : conns) {
      if (!c.awaiting && c.next_due_ns < window_end && c.next_due_ns <= now) {
        send_due(c, now);
        now = now_ns();
      }
      if (!c.awaiting && c.next_due_ns < window_end) next = std::min(next, c.next_due_ns);
      if (c.awaiting && now - c.sent_ns > reply_timeout_ns) {
        std::fprintf(stderr, "openloop_client: reply timeout\n");
        return 1;
      }
      outstanding = outstanding || c.awaiting;
    }
    if (next == INT64_MAX && !outstanding) break;
    timespec timeout{0, 0};
    if (!cfg.spin && next != INT64_MAX) {
      const std::int64_t wait = std::max<std::int64_t>(0, next - now_ns());
      timeout = {static_cast<time_t>(wait / ns_per_s), static_cast<long>(wait % ns_per_s)};
    } else if (!cfg.spin) {
      timeout = {0, 1'000'000};
    }
    const int count = epoll_pwait2(ep, events, 256, &timeout, nullptr);
    for (int e = 0; e < count; ++e) {
      Connection& c = conns[events[e].data.u32];
      const ssize_t got = ::recv(c.fd, buffer, sizeof buffer, 0);
      const std::int64_t at = now_ns();
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        std::fprintf(stderr, "openloop_client: connection closed or failed\n");
        return 1;
      }
      c.in.append(buffer, static_cast<std::size_t>(got));
      const long size = complete_reply(c.in);
      if (size < 0 || (size > 0 && static_cast<std::size_t>(size) != c.in.size()) || (size > 0 && !c.awaiting)) {
        std::fprintf(stderr, "openloop_client: bad reply\n");
        return 1;
      }
      if (size == 0) continue;
      c.in.clear();
      c.awaiting = false;
      if (c.due_ns >= window_start && c.due_ns < window_end) {
        corrected.push_back(at - c.due_ns);
        uncorrected.push_back(at - c.sent_ns);
      }
      if (c.next_due_ns < window_end && c.next_due_ns <= at) send_due(c, at);  // behind schedule: leave now
    }
  }
  const double achieved = static_cast<double>(corrected.size()) / cfg.duration_s;
  std::printf("{\"client\": \"openloop_client\", \"wait\": \"%s\", \"connections\": %d, \"rate\": %.0f, "
              "\"duration_s\": %.1f, \"scheduled\": %lld, \"requests\": %zu, \"achieved_rps\": %.1f, \"errors\": %lld, "
              "\"late_sends\": %lld, ",
              cfg.spin ? "spin" : "block", cfg.connections, cfg.rate, cfg.duration_s,
              static_cast<long long>(scheduled), corrected.size(), achieved, static_cast<long long>(errors),
              static_cast<long long>(late_over_50us));
  print_percentiles("corrected", corrected);
  print_percentiles("uncorrected", uncorrected);
  print_percentiles("lateness", lateness);
  std::printf("\"worst_lateness_us\": %.1f}\n", lateness.empty() ? 0.0 : static_cast<double>(lateness.back()) / 1000.0);
  ::close(ep);
  for (auto& c : conns) ::close(c.fd);
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  if (!parse(argc, argv, cfg)) return 2;
  return run(cfg);
}
