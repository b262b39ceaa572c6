// nfq_netem: delay, jitter and loss for the packets of one NFQUEUE, for kernels without sch_netem (issue 14's test
// bed). scripts/testbed sends a host's egress (iptables OUTPUT -o eth0 -j NFQUEUE) here; each packet is dropped with
// probability --loss-pct, else accepted once its own delay has passed: --delay-ms plus a uniform draw in
// ±--jitter-ms, so (as with netem's jitter) packets may leave in another order than they came. The kernel keeps the
// packets; only their ids and due times are here, in a heap.
//   nfq_netem --queue 0 --delay-ms 1 --jitter-ms 0.2 --loss-pct 0.5 [--seed 1]
// glibc's <netinet/in.h> before the kernel's headers: the other order redefines struct in_addr.
#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t stop = 0;
void on_stop(int) { stop = 1; }

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Due {
  std::int64_t at_ns;
  std::uint32_t id;
  bool operator>(const Due& o) const { return at_ns > o.at_ns; }
};

struct State {
  nfq_q_handle* queue = nullptr;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
  std::mt19937_64 random;
  double delay_ns = 0, jitter_ns = 0, loss = 0;
  std::uint64_t seen = 0, dropped = 0;
};

int on_packet(nfq_q_handle* queue, nfgenmsg*, nfq_data* data, void* opaque) {
  auto& s = *static_cast<State*>(opaque);
  const nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
  if (header == nullptr) return 0;
  const std::uint32_t id = ntohl(header->packet_id);
  ++s.seen;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (unit(s.random) < s.loss) {
    ++s.dropped;
    return nfq_set_verdict(queue, id, NF_DROP, 0, nullptr);
  }
  const double delay = s.delay_ns + (2 * unit(s.random) - 1) * s.jitter_ns;
  s.due.push({now_ns() + static_cast<std::int64_t>(delay > 0 ? delay : 0), id});
  return 0;
}

double arg(int argc, char** argv, const char* name, double fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atof(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  State s;
  const auto queue_number = static_cast<std::uint16_t>(arg(argc, argv, "--queue", 0));
  s.delay_ns = arg(argc, argv, "--delay-ms", 0) * 1e6;
  s.jitter_ns = arg(argc, argv, "--jitter-ms", 0) * 1e6;
  s.loss = arg(argc, argv, "--loss-pct", 0) / 100.0;
  s.random.seed(static_cast<std::uint64_t>(arg(argc, argv, "--seed", 1)));
  if (s.delay_ns < 0 || s.jitter_ns < 0 || s.loss < 0 || s.loss > 1) {
    std::fprintf(stderr, "usage: nfq_netem --queue N --delay-ms D --jitter-ms J --loss-pct P [--seed S]\n");
    return 2;
  }
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // release packets when due, not up to 50 us later
  struct sigaction action{};
  action.sa_handler = on_stop;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);

  nfq_handle* handle = nfq_open();
  if (handle == nullptr) {
    std::fprintf(stderr, "nfq_netem: nfq_open: %s\n", std::strerror(errno));
    return 1;
  }
  s.queue = nfq_create_queue(handle, queue_number, &on_packet, &s);
  if (s.queue == nullptr || nfq_set_mode(s.queue, NFQNL_COPY_META, 0) < 0) {
    std::fprintf(stderr, "nfq_netem: cannot bind queue %u: %s\n", queue_number, std::strerror(errno));
    nfq_close(handle);
    return 1;
  }
  nfq_set_queue_maxlen(s.queue, 1 << 16);  // packets the kernel holds for us before it drops (counted as loss)
  const int fd = nfq_fd(handle);
  std::printf("nfq_netem ready queue=%u\n", queue_number);
  std::fflush(stdout);
  std::vector<char> buffer(1 << 16);
  while (!stop) {
    const std::int64_t now = now_ns();
    while (!s.due.empty() && s.due.top().at_ns <= now) {
      nfq_set_verdict(s.queue, s.due.top().id, NF_ACCEPT, 0, nullptr);
      s.due.pop();
    }
    // Wait for a packet or the next release; poll's resolution is 1 ms, so the last stretch spins on ppoll.
    timespec timeout{0, 100'000'000};
    if (!s.due.empty()) {
      const std::int64_t wait = std::max<std::int64_t>(0, s.due.top().at_ns - now);
      timeout = {static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    }
    pollfd p{fd, POLLIN, 0};
    if (::ppoll(&p, 1, &timeout, nullptr) > 0) {
      const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n > 0) nfq_handle_packet(handle, buffer.data(), static_cast<int>(n));
    }
  }
  while (!s.due.empty()) {  // never strand a packet: what is held leaves now
    nfq_set_verdict(s.queue, s.due.top().id, NF_ACCEPT, 0, nullptr);
    s.due.pop();
  }
  std::fprintf(stderr, "nfq_netem: %llu packets, %llu dropped\n", static_cast<unsigned long long>(s.seen),
               static_cast<unsigned long long>(s.dropped));
  nfq_destroy_queue(s.queue);
  nfq_close(handle);
  return 0;
}
