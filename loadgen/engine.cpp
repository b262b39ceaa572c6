#include "loadgen/engine.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <limits>
#include <memory>
#include <queue>

#include "loadgen/cpu_time.hpp"
#include "loadgen/send_wait.hpp"
#include "loadgen/workload_codec.hpp"

namespace tvt::loadgen {

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;
constexpr std::int64_t ns_per_ms = 1'000'000;
constexpr std::int64_t timeout_scan_interval_ns = 100 * ns_per_ms;
constexpr std::int64_t reconnect_backoff_ns = 100 * ns_per_ms;
constexpr std::int64_t go_poll_interval_ns = 1 * ns_per_ms;
constexpr int max_events = 512;
constexpr std::size_t recv_buffer_bytes = 64 * 1024;

enum class ErrorKind { connect, reset, timeout, bad_reply, closed };

enum class ConnState : std::uint8_t {
  unopened,    // waits for its ramp slot (timer)
  connecting,  // non-blocking connect in flight (EPOLLOUT)
  priming,     // idle/storm: first request in flight; chat: JOIN sent, waiting for JOINED
  waiting_go,  // ready; the run has not started
  awaiting,    // a request is out, its reply is not complete
  paused,      // between requests: think time or the open-loop schedule (timer)
  holding,     // idle/storm: ready and silent
  chat_live,   // chat: posting on its schedule (timer), receiving at any time
  backoff,     // failed; reconnects when its timer fires
  finished,
};

// A connection: the engine's part, and `codec`, the workload's own per-connection state (workload_codec.hpp).
template <class CodecConn>
struct Conn {
  int fd = -1;
  std::uint32_t slot = 0;
  std::uint32_t timer_generation = 0;  // a heap entry with another generation is stale
  ConnState state = ConnState::unopened;
  bool ready = false;           // was ready at least once
  bool writing = false;         // EPOLLOUT is in the interest set
  HistKind size_class = HistKind::main;  // sized requests: the histogram of the request in flight
  std::uint16_t send_offset = 0, send_length = 0;
  const char* send_data = nullptr;
  std::int64_t intended_ns = 0;       // open loop: when the request in flight was due
  std::int64_t sent_ns = 0;
  std::int64_t deadline_ns = 0;
  std::int64_t next_due_ns = 0;       // open loop / chat: when the next send is due (ArrivalSchedule::never: none)
  std::uint64_t due_index = 0;        // open loop / chat: which of the schedule's dues next_due_ns is
  std::int64_t last_send_ns = 0;      // open loop / chat: when this connection's previous send left (0: none yet)
  std::uint64_t sequence = 0;
  CodecConn codec;
  char send_buffer[send_buffer_bytes];
};

struct TimerEntry {
  std::int64_t due_ns;
  std::uint32_t index;
  std::uint32_t generation;
  bool operator>(const TimerEntry& o) const { return due_ns > o.due_ns; }
};

// One engine thread, compiled once per workload codec: request/reply codecs run the closed, open, idle and storm
// modes; chat (request_reply == false) posts on its schedule and receives at any time.
template <class Codec>
class EngineThread {
 public:
  using Conn = loadgen::Conn<typename Codec::Conn>;
  static constexpr bool chat = !Codec::request_reply;

  EngineThread(const EngineConfig& config, Coordinator& coordinator, std::uint32_t slot_begin, std::uint32_t slot_end,
               Codec codec)
      : config_(config), options_(config.options), coordinator_(coordinator), codec_(std::move(codec)),
        conns_(slot_end - slot_begin) {
    for (std::uint32_t i = 0; i < conns_.size(); ++i) conns_[i].slot = slot_begin + i;
    std::vector<TimerEntry> storage;
    storage.reserve(conns_.size() * 2 + 16);
    timers_ = decltype(timers_)(std::greater<TimerEntry>{}, std::move(storage));
    recv_buffer_ = std::make_unique<char[]>(recv_buffer_bytes);
    scheduled_ = options_.mode == Mode::open || chat;
    lateness_.threshold_ns = static_cast<std::int64_t>(options_.late_threshold_us * 1000);
    spin_ns_ = spin_window_ns(options_.spin_us, options_.worker ? 0 : options_.threads, cpus_allowed(0).value_or(1));
    if (scheduled_) {
      // Precomputed before the first connect; a second past the window covers a late go.
      const auto span = static_cast<std::int64_t>((options_.warmup_s + options_.duration_s + 1) * ns_per_s);
      schedule_ = ArrivalSchedule(options_.arrivals, options_.rate, config_.total_connections, slot_begin, slot_end,
                                  span, options_.seed);
    }
  }

  RunResult run();

 private:
  // --- set-up ---
  std::int64_t connect_budget_ns() const {
    return std::max(static_cast<std::int64_t>(options_.connect_timeout_s * ns_per_s),
                    static_cast<std::int64_t>(options_.timeout_ms * ns_per_ms));
  }

  // --- connections ---
  void open_conn(Conn& c, std::int64_t now);
  void on_connected(Conn& c, std::int64_t now);
  void mark_ready(Conn& c, std::int64_t now);
  void start_traffic(Conn& c, std::int64_t now);
  void send_request(Conn& c, std::int64_t intended, std::int64_t now);
  void chat_post(Conn& c, std::int64_t now);
  void flush(Conn& c);
  void on_event(Conn& c, std::uint32_t events);
  void on_readable(Conn& c);
  bool on_bytes(Conn& c, const char* data, std::size_t size, std::int64_t now);  // false: the connection failed
  void on_reply(Conn& c, std::int64_t now);
  // What the chat codec reports, line by line, for connection `c`; false fails the connection.
  struct ChatSink {
    EngineThread& engine;
    Conn& c;
    std::int64_t now;
    bool joined() {
      if (c.state != ConnState::priming) return false;  // a JOINED nobody asked for
      engine.mark_ready(c, now);
      return true;
    }
    bool delivered(std::int64_t due_ns, bool duplicate) {
      auto& k = engine.result_.counters;
      ++k.deliveries;
      engine.last_delivery_ns_ = now;
      if (duplicate) ++k.duplicated;
      if (engine.in_window(now)) {
        ++k.deliveries_in_window;
        const std::size_t interval = engine.interval_of(now);
        ++engine.result_.interval_counts[interval].requests;
        engine.record(HistKind::main, interval, now - due_ns);
      }
      return true;
    }
    bool dropped_by_policy(std::int64_t n) {
      engine.result_.counters.dropped_by_policy += n;
      return true;
    }
  };
  void next_request(Conn& c, std::int64_t now);
  void fail(Conn& c, ErrorKind kind, std::int64_t now);
  void close_conn(Conn& c);
  void set_writing(Conn& c, bool writing);
  void add_timer(Conn& c, std::int64_t due) { timers_.push({due, index_of(c), ++c.timer_generation}); }
  void cancel_timer(Conn& c) { ++c.timer_generation; }
  // Moves `c` to its next due time.
  void advance_schedule(Conn& c) {
    const std::int64_t due = schedule_.due(c.slot, ++c.due_index);
    c.next_due_ns = due == ArrivalSchedule::never ? due : go_ns_ + due;
  }
  // A scheduled send due at `due` left at `now`: its lateness, and the gap since the connection's previous send.
  void account_send(Conn& c, std::int64_t due, std::int64_t now);
  std::uint32_t index_of(const Conn& c) const { return static_cast<std::uint32_t>(&c - conns_.data()); }

  // --- phases ---
  void on_go(std::int64_t go_ns);
  void end_connecting(std::int64_t now);
  void end_window(std::int64_t now);
  void fire_timers(std::int64_t now);
  void scan_timeouts(std::int64_t now);
  // Connecting, or a request (JOIN, first reply) out: what a deadline watches.
  static bool waiting(const Conn& c) {
    return c.fd >= 0 && (c.state == ConnState::connecting || c.state == ConnState::priming ||
                         c.state == ConnState::awaiting);
  }
  bool any_waiting() const { return std::any_of(conns_.begin(), conns_.end(), waiting); }
  void count_unanswered_at_end();
  bool in_window(std::int64_t now) const { return phase_ == Phase::running && now >= window_start_ns_ && now < window_end_ns_; }
  std::size_t interval_of(std::int64_t now) const {
    return std::min(static_cast<std::size_t>((now - window_start_ns_) / ns_per_s), interval_count_ - 1);
  }
  void record(HistKind kind, std::size_t interval, std::int64_t latency_ns) {
    result_.intervals[static_cast<std::size_t>(kind)][interval].record((latency_ns + 500) / 1000);
  }

  enum class Phase { connecting, waiting_go, running, draining, done };

  const EngineConfig& config_;
  const Options& options_;
  Coordinator& coordinator_;
  Codec codec_;
  std::vector<Conn> conns_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> timers_;
  std::unique_ptr<char[]> recv_buffer_;
  int epoll_fd_ = -1;
  Phase phase_ = Phase::connecting;
  std::int64_t ready_count_ = 0;
  std::int64_t connect_deadline_ns_ = 0;
  // Chat's drain ends after this long without a delivery (--drain-quiet-ms; longer than a TCP retransmission on a
  // lossy link).
  std::int64_t chat_quiet_ns() const { return static_cast<std::int64_t>(options_.drain_quiet_ms * ns_per_ms); }
  std::int64_t go_ns_ = 0, window_start_ns_ = 0, window_end_ns_ = 0, drain_deadline_ns_ = 0;
  std::int64_t last_delivery_ns_ = 0;
  bool scheduled_ = false;  // open loop or chat: sends follow schedule_
  std::int64_t spin_ns_ = 0;  // open loop or chat: poll, do not block, this close to the next send (--spin-us)
  ArrivalSchedule schedule_;
  LatenessTally lateness_;
  std::size_t interval_count_ = 1;
  RunResult result_;
};

template <class Codec>
void EngineThread<Codec>::set_writing(Conn& c, bool writing) {
  if (c.writing == writing) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (writing ? EPOLLOUT : 0u);
  ev.data.u32 = index_of(c);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.writing = writing;
}

template <class Codec>
void EngineThread<Codec>::open_conn(Conn& c, std::int64_t now) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail(c, ErrorKind::connect, now);
    return;
  }
  c.fd = fd;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::size_t target_count = config_.targets.size();
  const Target& target = config_.targets[c.slot % target_count];
  if (config_.source_addresses > 0) {
    // Port chosen at connect() time for the full 4-tuple, so each source address has the whole ephemeral range.
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const std::uint32_t source_index = (c.slot / static_cast<std::uint32_t>(target_count)) / config_.slots_per_source;
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (source_index % config_.source_addresses));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
      fail(c, ErrorKind::connect, now);
      return;
    }
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u32 = index_of(c);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    fail(c, ErrorKind::connect, now);
    return;
  }
  c.writing = true;
  // Establishing gets the connect budget, not the request timeout: when a connect storm overflows the server's
  // accept queue the kernel retries SYNs after 1 s, 3 s, 7 s...; abandoning and re-dialling would only add to the storm.
  c.deadline_ns = now + connect_budget_ns();
  c.state = ConnState::connecting;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&target.address), sizeof target.address) == 0) {
    on_connected(c, now);
  } else if (errno != EINPROGRESS) {
    fail(c, ErrorKind::connect, now);
  }
}

template <class Codec>
void EngineThread<Codec>::on_connected(Conn& c, std::int64_t now) {
  set_writing(c, false);
  c.codec = typename Codec::Conn{};  // a reconnect starts with no partial line or reply
  c.send_offset = c.send_length = 0;
  if constexpr (chat) {
    const Outgoing join = codec_.join(c.slot, c.send_buffer);
    c.send_data = join.data;
    c.send_length = join.length;
    c.state = ConnState::priming;
    c.deadline_ns = now + connect_budget_ns();
    flush(c);
  } else if (options_.mode == Mode::idle || options_.mode == Mode::storm) {
    send_request(c, now, now);
    if (c.state == ConnState::awaiting) {
      c.state = ConnState::priming;
      c.deadline_ns = now + connect_budget_ns();  // the first reply waits for the server to accept
    }
  } else {
    mark_ready(c, now);
  }
}

template <class Codec>
void EngineThread<Codec>::mark_ready(Conn& c, std::int64_t now) {
  if (!c.ready) {
    c.ready = true;
    ++ready_count_;
  }
  if (phase_ == Phase::running) {
    start_traffic(c, now);
  } else {
    c.state = ConnState::waiting_go;
  }
}

template <class Codec>
void EngineThread<Codec>::start_traffic(Conn& c, std::int64_t now) {
  if constexpr (chat) {
    c.state = ConnState::chat_live;
    add_timer(c, std::max(c.next_due_ns, now));
    return;
  }
  switch (options_.mode) {
    case Mode::closed: send_request(c, now, now); break;
    case Mode::open:
      if (c.next_due_ns <= now) {
        send_request(c, c.next_due_ns, now);
      } else {
        c.state = ConnState::paused;
        add_timer(c, c.next_due_ns);
      }
      break;
    case Mode::idle:
    case Mode::storm: c.state = ConnState::holding; break;
  }
}

template <class Codec>
void EngineThread<Codec>::send_request(Conn& c, std::int64_t intended, std::int64_t now) {
  if constexpr (!chat) {
    const Outgoing request = codec_.request(c.codec, c.slot, c.sequence, c.send_buffer);
    c.send_data = request.data;
    c.send_length = request.length;
    c.size_class = request.size_class;
  }
  ++c.sequence;
  c.send_offset = 0;
  c.intended_ns = intended;
  c.sent_ns = now;
  c.deadline_ns = now + static_cast<std::int64_t>(options_.timeout_ms * ns_per_ms);
  if (options_.mode == Mode::open) {
    account_send(c, intended, now);
    advance_schedule(c);
  }
  c.state = ConnState::awaiting;
  flush(c);
}

template <class Codec>
void EngineThread<Codec>::chat_post(Conn& c, std::int64_t now) {
  const std::int64_t due = c.next_due_ns;
  advance_schedule(c);
  if (phase_ != Phase::running || due >= window_end_ns_) return;  // posting stops at the end of the window
  if (c.send_offset < c.send_length) {
    // The previous line is still not written: the server is not reading. Skipped, and counted if it was due in the
    // window, never silently.
    if (due >= window_start_ns_) {
      ++result_.counters.dropped_sends;
      ++result_.counters.posts_blocked;
    }
  } else {
    account_send(c, due, now);
    const Outgoing post = codec_.post(c.slot, c.sequence, due, c.send_buffer);
    ++c.sequence;
    c.send_data = post.data;
    c.send_offset = 0;
    c.send_length = post.length;
    ++result_.counters.chat_sent;
    result_.counters.chat_expected += codec_.group_size(codec_.group_of(c.slot));
    if (due >= window_start_ns_) ++result_.counters.requests;
    flush(c);
    if (c.state == ConnState::backoff) return;
  }
  add_timer(c, std::max(c.next_due_ns, now));
}

template <class Codec>
void EngineThread<Codec>::account_send(Conn& c, std::int64_t due, std::int64_t now) {
  // Lateness is the client's own delay (timer wake-up, other connections' work, a reply still out), kept apart
  // from latency so a run can show it kept its schedule.
  if (lateness_in_window(due, now, window_start_ns_, window_end_ns_)) lateness_.add(due, now);
  if (due >= window_start_ns_ && due < window_end_ns_) {
    if (c.last_send_ns >= window_start_ns_) {
      const double units = static_cast<double>(now - c.last_send_ns) * gap_units_per_mean / schedule_.mean_gap_ns();
      result_.intervals[static_cast<std::size_t>(HistKind::send_gaps)][interval_of(now)].record(
          static_cast<std::int64_t>(units));
    }
  }
  c.last_send_ns = now;
}

template <class Codec>
void EngineThread<Codec>::flush(Conn& c) {
  while (c.send_offset < c.send_length) {
    const ssize_t n = ::send(c.fd, c.send_data + c.send_offset, c.send_length - c.send_offset, MSG_NOSIGNAL);
    if (n > 0) {
      c.send_offset = static_cast<std::uint16_t>(c.send_offset + n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_writing(c, true);
      return;
    } else {
      fail(c, ErrorKind::reset, monotonic_ns());
      return;
    }
  }
  set_writing(c, false);
}

template <class Codec>
void EngineThread<Codec>::on_event(Conn& c, std::uint32_t events) {
  if (c.fd < 0) return;
  if (c.state == ConnState::connecting) {
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &len);
    const std::int64_t now = monotonic_ns();
    if (error != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      fail(c, ErrorKind::connect, now);
    } else if ((events & EPOLLOUT) != 0) {
      on_connected(c, now);
    }
    return;
  }
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) on_readable(c);
  if (c.fd >= 0 && (events & EPOLLOUT) != 0 && c.writing) flush(c);
}

template <class Codec>
void EngineThread<Codec>::on_readable(Conn& c) {
  char* buffer = recv_buffer_.get();
  for (;;) {
    const ssize_t n = ::recv(c.fd, buffer, recv_buffer_bytes, 0);
    if (n > 0) {
      if (!on_bytes(c, buffer, static_cast<std::size_t>(n), monotonic_ns())) return;
      if (static_cast<std::size_t>(n) < recv_buffer_bytes) return;  // level-triggered: epoll tells us if more came
    } else if (n == 0) {
      fail(c, ErrorKind::closed, monotonic_ns());
      return;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      fail(c, ErrorKind::reset, monotonic_ns());
      return;
    }
  }
}

template <class Codec>
bool EngineThread<Codec>::on_bytes(Conn& c, const char* data, std::size_t size, std::int64_t now) {
  if constexpr (chat) {
    if (!codec_.feed(c.codec, c.slot, data, size, ChatSink{*this, c, now})) {
      fail(c, ErrorKind::bad_reply, now);
      return false;
    }
    return true;
  } else {
  if (c.state != ConnState::awaiting && c.state != ConnState::priming) {
    fail(c, ErrorKind::bad_reply, now);  // bytes nobody asked for
    return false;
  }
  const FeedResult r = codec_.feed(c.codec, data, size);
  if (r.status == ReplyStatus::bad || (r.status == ReplyStatus::complete && r.consumed != size)) {
    fail(c, ErrorKind::bad_reply, now);
    return false;
  }
  if (r.status == ReplyStatus::complete) on_reply(c, now);
  return c.fd >= 0;
  }
}

template <class Codec>
void EngineThread<Codec>::on_reply(Conn& c, std::int64_t now) {
  if (c.state == ConnState::priming) {
    mark_ready(c, now);
    return;
  }
  if (in_window(now)) {
    const std::size_t interval = interval_of(now);
    ++result_.counters.requests;
    ++result_.interval_counts[interval].requests;
    record(HistKind::main, interval, now - c.intended_ns);
    if (options_.mode == Mode::open) record(HistKind::uncorrected, interval, now - c.sent_ns);
    if constexpr (Codec::sized_requests) record(c.size_class, interval, now - c.sent_ns);
  }
  next_request(c, now);
}

template <class Codec>
void EngineThread<Codec>::next_request(Conn& c, std::int64_t now) {
  if (phase_ != Phase::running || now >= window_end_ns_) {
    c.state = ConnState::paused;  // the window is over: no new requests
    return;
  }
  if (options_.mode == Mode::open) {
    if (c.next_due_ns <= now) {
      send_request(c, c.next_due_ns, now);
    } else {
      c.state = ConnState::paused;
      add_timer(c, c.next_due_ns);
    }
  } else if (options_.think_time_ms > 0) {
    c.state = ConnState::paused;
    add_timer(c, now + static_cast<std::int64_t>(options_.think_time_ms * ns_per_ms));
  } else {
    send_request(c, now, now);
  }
}

template <class Codec>
void EngineThread<Codec>::close_conn(Conn& c) {
  if (c.fd >= 0) ::close(c.fd);  // close() also removes it from the epoll set
  c.fd = -1;
  c.writing = false;
  c.send_offset = c.send_length = 0;
  cancel_timer(c);
}

template <class Codec>
void EngineThread<Codec>::fail(Conn& c, ErrorKind kind, std::int64_t now) {
  close_conn(c);
  if (phase_ == Phase::done) return;
  auto& k = result_.counters;
  switch (kind) {
    case ErrorKind::connect: ++k.errors_connect; break;
    case ErrorKind::reset: ++k.errors_reset; break;
    case ErrorKind::timeout: ++k.errors_timeout; break;
    case ErrorKind::bad_reply: ++k.errors_bad_reply; break;
    case ErrorKind::closed: ++k.errors_closed; break;
  }
  if (in_window(now)) ++result_.interval_counts[interval_of(now)].errors;
  c.state = ConnState::backoff;
  if (phase_ != Phase::draining) add_timer(c, now + reconnect_backoff_ns);
}

template <class Codec>
void EngineThread<Codec>::end_connecting(std::int64_t now) {
  result_.counters.established = ready_count_;
  result_.counters.all_ready_ns = now;
  coordinator_.established.fetch_add(ready_count_);
  coordinator_.threads_ready.fetch_add(1);
}

template <class Codec>
void EngineThread<Codec>::on_go(std::int64_t go_ns) {
  go_ns_ = go_ns;
  window_start_ns_ = go_ns + static_cast<std::int64_t>(options_.warmup_s * ns_per_s);
  window_end_ns_ = window_start_ns_ + static_cast<std::int64_t>(options_.duration_s * ns_per_s);
  // Stepped idle: every step's connections stay open until the coordinator stops them (steps.hpp); one interval,
  // as nothing is sent.
  if (!options_.steps.empty()) window_end_ns_ = std::numeric_limits<std::int64_t>::max() / 2;
  interval_count_ = options_.steps.empty()
                        ? static_cast<std::size_t>((window_end_ns_ - window_start_ns_ + ns_per_s - 1) / ns_per_s)
                        : 1;
  interval_count_ = std::max<std::size_t>(interval_count_, 1);
  result_.interval_counts.assign(interval_count_, {});
  auto use = [&](HistKind kind) { result_.intervals[static_cast<std::size_t>(kind)].assign(interval_count_, {}); };
  use(HistKind::main);
  if (options_.mode == Mode::open) use(HistKind::uncorrected);
  if constexpr (Codec::sized_requests) {
    use(HistKind::small);
    use(HistKind::large);
  }
  // Open loop and chat: each connection follows its ArrivalSchedule from go (uniform: slot s starts s/rate after go,
  // so the sends of all connections interleave evenly at the total rate).
  if (scheduled_) {
    use(HistKind::send_gaps);
    for (auto& c : conns_) {
      c.due_index = 0;
      c.next_due_ns = go_ns + schedule_.due(c.slot, 0);
    }
  }
  phase_ = Phase::running;
  const std::int64_t now = monotonic_ns();
  for (auto& c : conns_)
    if (c.state == ConnState::waiting_go) start_traffic(c, now);
}

template <class Codec>
void EngineThread<Codec>::end_window(std::int64_t now) {
  auto& k = result_.counters;
  k.late_sends = lateness_.late;
  k.worst_lateness_ns = lateness_.worst_ns;
  for (auto& c : conns_) {
    if (c.fd >= 0 && c.state != ConnState::connecting) ++k.open_at_end;
    if (scheduled_) {
      // Sends are issued in due order, so the ones due in the window that never went out (the connection fell behind,
      // or was not connected) are exactly the dues from due_index on.
      const std::int64_t from = window_start_ns_ - go_ns_, to = window_end_ns_ - go_ns_;
      k.scheduled_sends += schedule_.count_due(c.slot, 0, from, to);
      k.dropped_sends += schedule_.count_due(c.slot, c.due_index, from, to);
    }
  }
  (void)now;
}

template <class Codec>
void EngineThread<Codec>::fire_timers(std::int64_t now) {
  while (!timers_.empty() && timers_.top().due_ns <= now) {
    const TimerEntry t = timers_.top();
    timers_.pop();
    Conn& c = conns_[t.index];
    if (t.generation != c.timer_generation) continue;
    switch (c.state) {
      case ConnState::unopened:
      case ConnState::backoff:
        if (phase_ != Phase::draining && phase_ != Phase::done) open_conn(c, now);
        break;
      case ConnState::paused:
        // Due inside the window: send it, even if this loop iteration woke a little after the window closed. A fresh
        // clock reading per send: sends due together leave one after another, and the later ones are that late.
        if (phase_ == Phase::running && t.due_ns < window_end_ns_) {
          const std::int64_t sent = monotonic_ns();
          send_request(c, options_.mode == Mode::open ? c.next_due_ns : sent, sent);
        }
        break;
      case ConnState::chat_live:
        if constexpr (chat) chat_post(c, monotonic_ns());
        break;
      default: break;
    }
  }
}

template <class Codec>
void EngineThread<Codec>::scan_timeouts(std::int64_t now) {
  for (auto& c : conns_)
    if (waiting(c) && c.deadline_ns < now) fail(c, ErrorKind::timeout, now);
}

template <class Codec>
void EngineThread<Codec>::count_unanswered_at_end() {
  // Whatever is still waiting when the run ends (the drain is over) never got its answer: a timeout, like one the
  // scan would have found later. Without this a silent server's run showed no error at all.
  auto& k = result_.counters;
  for (const auto& c : conns_)
    if (waiting(c)) {
      ++k.errors_timeout;
      ++k.unanswered_at_end;
    }
}

template <class Codec>
RunResult EngineThread<Codec>::run() {
  // Sends must leave on time: the kernel's default 50 us timer slack would let every epoll_pwait2 timeout (the
  // next-send timer) fire up to 50 us late.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  const std::int64_t start = monotonic_ns();
  result_.counters.connect_start_ns = start;
  // Each thread ramps its share: together they open ramp_rate connections a second (stepped idle: the threads of one
  // step together, as a step's slots are contiguous and its threads start together).
  const std::uint32_t sharing =
      conns_.empty() ? config_.total_connections : ramp_share(options_, config_.total_connections, conns_.front().slot);
  const double thread_ramp = options_.ramp_rate * static_cast<double>(conns_.size()) / static_cast<double>(sharing);
  std::int64_t ramp_span_ns = 0;
  for (std::uint32_t i = 0; i < conns_.size(); ++i) {
    if (thread_ramp > 0) {
      const auto at = start + static_cast<std::int64_t>(static_cast<double>(i) * ns_per_s / thread_ramp);
      ramp_span_ns = at - start;
      add_timer(conns_[i], at);
    } else {
      open_conn(conns_[i], start);
    }
  }
  connect_deadline_ns_ = start + ramp_span_ns + static_cast<std::int64_t>(options_.connect_timeout_s * ns_per_s);
  std::int64_t next_scan_ns = start + timeout_scan_interval_ns;
  epoll_event events[max_events];
  for (;;) {
    std::int64_t now = monotonic_ns();
    if (coordinator_.stop.load() && phase_ != Phase::done) {
      if (phase_ == Phase::running) end_window(now);
      // Stopped while connecting: the connections verified so far count (a stepped run says how far it got).
      if (phase_ == Phase::connecting) end_connecting(now);
      break;
    }
    if (phase_ == Phase::connecting && (ready_count_ == static_cast<std::int64_t>(conns_.size()) ||
                                        now >= connect_deadline_ns_ || coordinator_.cut_off.load())) {
      end_connecting(now);
      phase_ = Phase::waiting_go;
    }
    if (phase_ == Phase::waiting_go) {
      const std::int64_t go = coordinator_.go_ns.load();
      if (go != 0) on_go(go);
    }
    fire_timers(now);  // before the end-of-window check, so a send due just before the end is not lost to it
    if (phase_ == Phase::running && now >= window_end_ns_) {
      end_window(now);
      // Chat waits for deliveries in flight; request/reply for the replies to requests (and connects) still out, each
      // within its own deadline (the scan), so that one never answered is counted, not dropped with its connection.
      phase_ = Phase::draining;
      last_delivery_ns_ = now;
      drain_deadline_ns_ = now + static_cast<std::int64_t>(options_.drain_s * ns_per_s);
    }
    if (phase_ == Phase::draining) {
      bool drained = now >= drain_deadline_ns_;
      if constexpr (chat) drained = drained || now - last_delivery_ns_ >= chat_quiet_ns();
      else drained = drained || !any_waiting();
      if (drained) {
        count_unanswered_at_end();
        break;
      }
    }
    if (now >= next_scan_ns) {
      scan_timeouts(now);
      next_scan_ns = now + timeout_scan_interval_ns;
    }
    // Sleep until the next timer, scan, phase boundary or go poll, whichever is first.
    std::int64_t wake = next_scan_ns;
    if (!timers_.empty()) wake = std::min(wake, timers_.top().due_ns);
    if (phase_ == Phase::connecting) wake = std::min(wake, connect_deadline_ns_);
    if (phase_ == Phase::waiting_go) wake = std::min(wake, now + go_poll_interval_ns);
    if (phase_ == Phase::running) wake = std::min(wake, window_end_ns_);
    if (phase_ == Phase::draining) wake = std::min(wake, chat ? now + chat_quiet_ns() / 4 : drain_deadline_ns_);
    // A scheduled send next: block only until spin_ns before it, then poll (send_wait.hpp).
    const std::int64_t next_send =
        scheduled_ && phase_ == Phase::running && !timers_.empty() ? timers_.top().due_ns : ArrivalSchedule::never;
    const std::int64_t before_wait = monotonic_ns();
    const std::int64_t wait_ns = wait_timeout_ns(before_wait, wake, next_send, spin_ns_);
    timespec timeout{static_cast<time_t>(wait_ns / ns_per_s), static_cast<long>(wait_ns % ns_per_s)};
    const int n = ::epoll_pwait2(epoll_fd_, events, max_events, &timeout, nullptr);
    // An empty poll while nothing is due is time the thread chose to spin, not work: the client's busy share
    // (cost.hpp, `bound`) leaves it out.
    if (n == 0 && wait_ns == 0 && wake > before_wait && in_window(before_wait))
      result_.counters.spin_ns += monotonic_ns() - before_wait;
    for (int i = 0; i < n; ++i) on_event(conns_[events[i].data.u32], events[i].events);
  }
  phase_ = Phase::done;
  for (auto& c : conns_) {
    close_conn(c);
    c.state = ConnState::finished;
  }
  ::close(epoll_fd_);
  return std::move(result_);
}

}  // namespace

RunResult engine_run(const EngineConfig& config, Coordinator& coordinator, std::uint32_t slot_begin,
                     std::uint32_t slot_end) {
  return with_client_codec(config, slot_begin, slot_end, [&]<class Codec>(Codec codec) {
    EngineThread<Codec> thread(config, coordinator, slot_begin, slot_end, std::move(codec));
    return thread.run();
  });
}

}  // namespace tvt::loadgen
