// One thread per chat member, writes from the sender's thread. Invariants: inline_chat.hpp.
#include "threads/inline_chat.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <string>
#include <string_view>

#include "blocking/serve_chat.hpp"
#include "net/log.hpp"
#include "net/partial_request_deadline.hpp"
#include "protocol/chat.hpp"
#include "protocol/line_splitter.hpp"

namespace tvt::threads {
namespace {

using Clock = std::chrono::steady_clock;

int wake_signal() { return SIGRTMIN; }
void on_wake(int) {}  // only interrupts ppoll

// A member whose bytes are written by whichever thread queues them. All members of an inline server's hub are
// InlineMembers, which is what makes the downcast in `deliver` valid.
class InlineMember : public ChatHub::Member {
 public:
  InlineMember(std::size_t outbox_bytes, int fd) : Member(outbox_bytes), fd_(fd), owner_(::pthread_self()) {}

  // Sends queued bytes until the socket is full or the outbox empty. Caller holds `mutex`.
  void send_locked() { send_locked(MSG_DONTWAIT); }

  // The owner, under `mutex`, before it waits: true if bytes are left to send (then it waits for POLLOUT too).
  bool prepare_wait_locked() {
    owner_waits_for_output_ = in_flight_ || outbox.has_queued();
    return owner_waits_for_output_;
  }
  bool failed_locked() const { return failed_; }

  // The owner, after it left every group (no poster can reach this member any more): sends what is left, blocking
  // (bounded by the socket's SO_SNDTIMEO when there is an idle timeout), as the two-thread design's writer does.
  void drain() {
    std::lock_guard lock(mutex);
    send_locked(0);
  }

 private:
  int fd_;
  pthread_t owner_;
  std::string sending_;  // bytes taken from the outbox, sent up to `sent_`
  std::size_t sent_ = 0;
  bool in_flight_ = false;
  bool failed_ = false;
  bool owner_waits_for_output_ = false;

  // `flags` MSG_DONTWAIT: stops at a full socket and wakes the owner to finish; 0: blocks, and a timeout fails.
  void send_locked(int flags) {
    while (!failed_) {
      if (!in_flight_ || sent_ == sending_.size()) {
        if (in_flight_) outbox.finish_send(sending_);  // may release `sending_`'s storage: `sent_` restarts below
        in_flight_ = false;
        sent_ = 0;
        if (!outbox.has_queued()) return;
        outbox.start_send(sending_);
        in_flight_ = true;
        sent_ = 0;
      }
      const auto n = ::send(fd_, sending_.data() + sent_, sending_.size() - sent_, flags | MSG_NOSIGNAL);
      if (n > 0) {
        sent_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      const bool full = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && flags == MSG_DONTWAIT;
      if (!full) failed_ = true;  // the peer is gone, or a blocking send timed out
      if (!owner_waits_for_output_ && !::pthread_equal(owner_, ::pthread_self())) ::pthread_kill(owner_, wake_signal());
      return;
    }
  }
};

void deliver(ChatHub::Member& member) { static_cast<InlineMember&>(member).send_locked(); }

timespec to_timespec(Clock::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

void prepare_inline_chat() {
  struct sigaction action {};
  action.sa_handler = on_wake;  // no SA_RESTART: the point is to interrupt ppoll
  sigemptyset(&action.sa_mask);
  ::sigaction(wake_signal(), &action, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, wake_signal());
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void serve_chat_inline(BlockingSocket& socket, ChatHub& hub, std::size_t max_line_bytes,
                       std::chrono::milliseconds idle_timeout) {
  InlineMember me(hub.outbox_bytes(), socket.fd());
  sigset_t wait_mask;  // this thread's mask with the wake signal let through, for ppoll only
  ::pthread_sigmask(SIG_BLOCK, nullptr, &wait_mask);
  sigdelset(&wait_mask, wake_signal());

  protocol::LineSplitter lines(max_line_bytes);
  net::PartialRequestDeadline deadline;  // the same slowloris rule as serve_chat
  const bool timeouts = idle_timeout.count() > 0;
  auto read_deadline = timeouts ? Clock::now() + idle_timeout : Clock::time_point::max();
  bool server_closes = false;
  for (;;) {
    bool want_out, want_in;
    {
      std::lock_guard lock(me.mutex);
      if (me.failed_locked()) break;
      want_out = me.prepare_wait_locked();
      want_in = !me.outbox.over_capacity();  // backpressure on a member that floods commands without reading
    }
    pollfd p{socket.fd(), static_cast<short>((want_in ? POLLIN : 0) | (want_out ? POLLOUT : 0)), 0};
    timespec wait{};
    if (timeouts) wait = to_timespec(want_out ? idle_timeout : std::max(read_deadline - Clock::now(), Clock::duration::zero()));
    const int ready = ::ppoll(&p, 1, timeouts ? &wait : nullptr, &wait_mask);
    if (ready < 0) {
      if (errno == EINTR) continue;  // woken by a poster, or any signal: look again
      break;
    }
    if (ready == 0) {  // a send stalled for a whole idle timeout, or no command for one
      if (want_out || Clock::now() >= read_deadline) {
        static net::RateLimitedLog log;
        log.write("closing a chat connection: idle or not reading for %lld ms",
                  static_cast<long long>(idle_timeout.count()));
        server_closes = true;
        break;
      }
      continue;
    }
    if (want_out && (p.revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      std::lock_guard lock(me.mutex);
      me.send_locked();
    }
    if (!want_in || (p.revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
    const auto in = socket.read();
    if (in.empty()) break;
    if (timeouts) read_deadline = Clock::now() + idle_timeout;
    const auto status = blocking::run_chat_commands(
        hub, me, lines, in, [&](std::string_view group, std::string_view line) { hub.post(me, group, line, deliver); });
    if (status == protocol::LineSplitter::Status::too_long) {
      static net::RateLimitedLog log;
      log.write("closing a connection: chat line over the limit");
      server_closes = true;
      break;
    }
    {
      std::lock_guard lock(me.mutex);
      me.send_locked();  // this member's own replies
    }
    if (deadline.overdue(lines.has_partial(), idle_timeout, "chat line")) {
      server_closes = true;
      break;
    }
  }
  hub.leave_all(me);
  if (!server_closes) me.drain();
}

}  // namespace tvt::threads
