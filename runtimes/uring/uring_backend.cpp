// The uring back end: one thread submits and completes everything through one io_uring.
//
// Model: completion-based. Where the epoll back ends wait for "readable" and then call recv, this loop submits the
// recv itself and is told when it is *done*, bytes included. Connections are accepted straight into the ring's
// fixed-file table (multishot accept with IORING_FILE_INDEX_ALLOC) and every connection SQE names its slot with
// IOSQE_FIXED_FILE: a connection never has a file descriptor, so the process's fd table (RLIMIT_NOFILE) does not
// bound how many connections it holds; the fixed table (sized to RLIMIT_NOFILE too) does, separately.
//
// Per connection at most one recv or one send is in flight for the request/reply workloads (a connection does not
// read while its reply is being sent: that is the back-pressure on a client that does not read), plus at most one
// of each for chat (a member keeps reading while its outbox drains, unless the outbox is over capacity).
//
// LIFETIME PROOF (the classic io_uring bug is freeing a connection while the kernel still holds an SQE naming it):
//   1. Every SQE whose user_data holds a connection's address increments that connection's `in_flight` when it is
//      prepared (arm_recv, submit_send, close); every CQE carrying such user_data decrements it in dispatch(),
//      before anything else looks at the connection. No connection SQE is multishot, so each SQE yields exactly one
//      CQE (cancellation included: a cancelled request still posts its CQE, with -ECANCELED). Cancel requests are
//      tagged `ignore_tag`, not with the connection, so they name no connection.
//   2. A connection waiting in `starved_` (its recv found the buffer ring empty) or in `deferred_sends_` (chat: a
//      send to start after this batch) holds one more count per list, so it cannot be freed while a vector points
//      at it.
//   3. The only delete is in maybe_free(), which requires `closing && in_flight == 0`. `closing` is set only by
//      close(), which always issues a close SQE (so in_flight >= 1 right after it), and nothing arms a new SQE on a
//      closing connection (arm_recv/submit_send are only reached from handlers that return early when closing).
//   => when the object is deleted, no SQE naming it is outstanding and none can be issued: no CQE can arrive for it.
//   4. Memory the kernel reads or writes for a request lives in the connection (`sending`, read by a send) or in
//      the provided-buffer ring (written by a recv): `sending` is not touched while `send_armed`, and buffers follow
//      buffer_ring.hpp's ownership rule (given back exactly once per CQE that names one, closing or not).
//   5. Shutdown: stop -> cancel the accept and the timer, close() every connection (cancels its requests, closes its
//      slot) -> reap until every SQE has completed (`in_flight_total_` == 0, bounded by a budget) -> delete every
//      connection -> Ring exit -> buffers unmapped.
//      If the budget runs out, connections are deliberately leaked rather than freed under the kernel's feet.
#include "uring/uring_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "net/log.hpp"
#include "net/socket.hpp"
#include "protocol/partial_buffer.hpp"
#include "protocol/session.hpp"
#include "protocol/workload.hpp"
#include "uring/buffer_ring.hpp"
#include "uring/chat_hub.hpp"
#include "uring/connection.hpp"
#include "uring/diagnostics.hpp"
#include "uring/ring.hpp"

namespace tvt::uring {
namespace {

// user_data of the loop's own requests (all below first_connection_user_data, so never a connection's address).
constexpr std::uint64_t accept_tag = 8;
constexpr std::uint64_t timer_tag = 16;
constexpr std::uint64_t stop_tag = 24;
constexpr std::uint64_t ignore_tag = 32;  // cancels, orphan closes: their CQE needs no action
constexpr std::uint64_t accept_backoff_tag = 40;
static_assert(accept_backoff_tag < first_connection_user_data);
static_assert(alignof(Connection) > op_mask, "user_data keeps the op in the address's low bits");

constexpr unsigned sq_entries = 4096;
// reap_backlog: a wait that handed over this many completions may have stopped at the kernel's per-pass cap of
// deferred task work (IO_LOCAL_TW_DEFAULT_MAX, Linux >= 6.13) ...
constexpr unsigned kernel_pass_items = 20;
// ... and then one more enter takes up to this many: an epoll loop's bound per wait
// (reactor::Reactor::max_events_per_poll).
constexpr unsigned drain_budget = 256;
// The largest CQ the kernel allows: at 20,000 connections every one can have a recv complete in the same instant
// (plus sends, cancels and closes); entries beyond the CQ would go to the kernel's overflow list.
constexpr unsigned cq_entries = 65536;
// 64 x 2 KiB = 128 KiB of read buffers for the whole process, whatever the number of connections or the load. A
// buffer is held only while its bytes are being consumed, so the count bounds how many recvs can complete between
// two reaps; the rest see -ENOBUFS and are re-armed once the batch has given its buffers back, at most this many per
// batch. The pool does not grow: every buffer in the ring becomes resident (buffer_ring.hpp), so a pool that grew
// when the loop ran late (a connect burst on a busy machine: 512 buffers, +1 MiB) kept that memory for good, and an
// idle server's figure followed the machine's load. 2 KiB holds a request of every benchmark workload (asio reads
// 1 KiB).
constexpr unsigned read_buffer_count = 64;
constexpr std::size_t read_buffer_bytes = 2048;
constexpr std::uint16_t read_buffer_group = 0;
constexpr auto shutdown_budget = std::chrono::milliseconds(1000);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The fixed-file table has as many slots as the process may have open files (the kernel refuses more).
unsigned fixed_file_table_size() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) throw std::system_error(errno, std::generic_category(), "getrlimit");
  constexpr rlim_t kernel_max = 1u << 20;  // IORING_MAX_FIXED_FILES
  return static_cast<unsigned>(std::clamp<rlim_t>(limit.rlim_cur, 1, kernel_max));
}

bool is_routine_error(int error) {
  return error == ECONNRESET || error == EPIPE || error == ECANCELED || error == ETIMEDOUT;
}

void log_close_reason(std::string_view reason) {
  if (reason.empty()) return;
  static net::RateLimitedLog log;
  log.write("closing a connection: %.*s", static_cast<int>(reason.size()), reason.data());
}

// ---- protocols: what a connection does with bytes, for the request/reply sessions and for chat ----

template <class MakeSession>
struct SessionProtocol {
  using Session = decltype(std::declval<MakeSession&>()());
  static_assert(protocol::Session<Session>);
  struct Conn : Connection {
    Conn(std::uint32_t index, Session s) : Connection(index), session(std::move(s)) {}
    Session session;
  };

  MakeSession make_session;

  Conn* make(std::uint32_t index) { return new Conn(index, make_session()); }
  static bool has_partial(const Conn& c) { return c.session.has_partial(); }

  // Invariant on entry: no send in flight and `sending` empty (a session connection reads only when it has sent
  // everything), so the session may append its replies to `sending` directly: they are the next send.
  template <class Loop>
  void on_bytes(Loop& loop, Conn& c, std::string_view in) {
    const bool was_partial = c.session.has_partial();
    if (c.session.consume(in, c.sending) == protocol::Verdict::close) {
      c.close_after_send = true;
      log_close_reason(c.session.close_reason());
    }
    // Idle time restarts after each whole request; a request still arriving keeps the deadline of its first byte.
    if (!was_partial || !c.session.has_partial()) loop.refresh_deadline(c);
    if (!c.sending.empty()) {
      loop.start_send(c);
    } else if (c.close_after_send) {
      loop.close(c);
    } else {
      loop.arm_recv(c);
    }
  }
  template <class Loop>
  void on_send_progress(Loop& loop, Conn& c) {  // a reader that takes bytes is not stalled
    if (!c.session.has_partial()) loop.refresh_deadline(c);
  }
  template <class Loop>
  void on_sent(Loop& loop, Conn& c) {
    protocol::release(c.sending);  // an idle connection holds no reply buffer, whatever the size of the last reply
    if (c.close_after_send) {
      loop.close(c);
    } else {
      loop.arm_recv(c);
    }
  }
  template <class Loop>
  void on_peer_closed(Loop& loop, Conn& c) {
    loop.close(c);  // nothing is being sent (see on_bytes): every reply already went out
  }
  void on_closing(Conn&) {}
  template <class Loop>
  static void start_deferred_send(Loop&, Conn&) {}  // never deferred: a reply is sent as soon as a session makes it
};

struct ChatProtocol {
  using Conn = ChatConnection;

  ChatHub hub;
  std::size_t outbox_bytes;
  std::size_t max_line_bytes;

  Conn* make(std::uint32_t index) { return new Conn(index, outbox_bytes, max_line_bytes); }
  static bool has_partial(const Conn& c) { return c.lines.has_partial(); }

  template <class Loop>
  void on_bytes(Loop& loop, Conn& c, std::string_view in) {
    const bool was_partial = c.lines.has_partial();
    auto kick = [&loop](Conn& member) { kick_send(loop, member); };
    std::string_view line;
    protocol::LineSplitter::Status status;
    // `line` may point into the provided buffer: it is given back only after this returns.
    while ((status = c.lines.next(in, line)) == protocol::LineSplitter::Status::line) {
      const auto command = protocol::parse_chat_line(line);
      switch (command.verb) {
        case protocol::ChatVerb::join: hub.join(c, command.group, kick); break;
        case protocol::ChatVerb::leave: hub.leave(c, command.group, kick); break;
        case protocol::ChatVerb::msg: hub.post(c, command.group, line, kick); break;
        case protocol::ChatVerb::invalid: hub.reject(c, command.reason, kick); break;
      }
    }
    if (status == protocol::LineSplitter::Status::too_long) {
      static net::RateLimitedLog log;
      log.write("closing a connection: chat line over the limit");
      loop.close(c);
      return;
    }
    // The idle deadline follows the member's own reads only, as in the asio and coro hubs.
    if (!was_partial || !c.lines.has_partial()) loop.refresh_deadline(c);
    // Back-pressure on our own replies: read no more while the outbox is over capacity (on_sent resumes).
    if (c.outbox.over_capacity()) {
      c.reader_blocked = true;
    } else {
      loop.arm_recv(c);
    }
  }
  template <class Loop>
  void on_send_progress(Loop&, Conn&) {}
  template <class Loop>
  void on_sent(Loop& loop, Conn& c) {
    c.outbox.finish_send(c.sending);
    protocol::release(c.sending);  // an idle member holds no send buffer
    if (c.outbox.has_queued()) {
      kick_send(loop, c);
    } else if (c.reader_done) {
      loop.close(c);
      return;
    }
    if (c.reader_blocked && !c.outbox.over_capacity()) {
      c.reader_blocked = false;
      loop.arm_recv(c);
    }
  }
  template <class Loop>
  void on_peer_closed(Loop& loop, Conn& c) {
    c.reader_done = true;
    hub.leave_all(c);
    if (!c.send_armed && !c.outbox.has_queued()) loop.close(c);  // else on_sent closes once the outbox is drained
  }
  void on_closing(Conn& c) { hub.leave_all(c); }

  // Deferred to the end of the batch (chat_hub.hpp): a member that gets 20 messages in one batch gets one send.
  template <class Loop>
  static void kick_send(Loop& loop, Conn& member) {
    if (member.closing || member.send_armed || member.send_deferred || !member.outbox.has_queued()) return;
    member.send_deferred = true;
    loop.defer_send(member);
  }
  template <class Loop>
  static void start_deferred_send(Loop& loop, Conn& member) {
    member.send_deferred = false;
    if (member.closing || member.send_armed || !member.outbox.has_queued()) return;
    member.outbox.start_send(member.sending);
    loop.start_send(member);
  }
};

// ---- the loop ----

template <class Protocol>
class Loop {
 public:
  using Conn = typename Protocol::Conn;

  Loop(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop, Protocol protocol)
      : buffers_(read_buffer_group, read_buffer_count, read_buffer_bytes),
        ring_(sq_entries, cq_entries),
        protocol_(std::move(protocol)),
        listen_fd_(listen_fd),
        stop_(stop),
        timeout_ms_(options.idle_timeout.count()),
        table_size_(fixed_file_table_size()) {
    buffers_.register_with(ring_.get());
    const int result = io_uring_register_files_sparse(ring_.get(), table_size_);
    if (result < 0) throw std::system_error(-result, std::generic_category(), "io_uring_register_files_sparse");
    // The listener is the caller's; non-blocking so the shedding accept4 below can never block the loop.
    const int flags = ::fcntl(listen_fd_, F_GETFL);
    if (flags >= 0) ::fcntl(listen_fd_, F_SETFL, flags | O_NONBLOCK);
    // No setsockopt on a direct descriptor (liburing 2.3 has no socket uring_cmd): accepted sockets inherit
    // TCP_NODELAY from the listener instead, as Linux copies it at accept.
    net::set_nodelay(listen_fd_);
    if (timeout_ms_ > 0) {
      // A few ticks per timeout: a deadline is noticed at most one tick late.
      const auto tick_ms = std::clamp<std::int64_t>(timeout_ms_ / 8, 10, 250);
      tick_ = {tick_ms / 1000, (tick_ms % 1000) * 1'000'000};
    }
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  ~Loop() {
    // Only when the kernel holds nothing of theirs (proof, point 5); otherwise leak on the way out of the process.
    if (in_flight_total_ != 0) return;
    free_all(live_);
    free_all(closing_);
  }

  void run() {
    arm_accept();
    arm_stop();
    if (timeout_ms_ > 0) arm_timer();
    while (!stopping_) {
      const int result = io_uring_submit_and_wait(ring_.get(), 1);
      // -EBUSY/-EAGAIN: the kernel wants completions reaped first, which is what comes next.
      if (result < 0 && result != -EINTR && result != -EBUSY && result != -EAGAIN && result != -ETIME)
        throw std::system_error(-result, std::generic_category(), "io_uring_submit_and_wait");
      const unsigned waited = reap();
      [[maybe_unused]] const unsigned drained = reap_backlog(waited);  // read by the diagnostics only
      TVT_URING_COUNT(batches, 1);
      TVT_URING_COUNT(capped_waits, waited >= kernel_pass_items ? 1 : 0);
      TVT_URING_MAX(max_batch_cqes, waited + drained);
      rearm_starved();
      start_deferred_sends();
    }
    shut_down();
  }

  // ---- used by the protocols ----

  void arm_recv(Connection& c) {
    io_uring_sqe* sqe = ring_.sqe();
    // No buffer named: IOSQE_BUFFER_SELECT makes the kernel pick one from the group when bytes arrive.
    io_uring_prep_recv(sqe, static_cast<int>(c.file_index), nullptr, 0, 0);
    sqe->buf_group = buffers_.group_id();
    finish(sqe, c.user_data(Op::recv), IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT);
    ++c.in_flight;
    c.recv_armed = true;
  }

  // Sends `c.sending` from the start. The caller filled it; nobody touches it until on_sent.
  void start_send(Connection& c) {
    c.sent_bytes = 0;
    submit_send(c);
  }

  // Starts a send for `c` once the batch being reaped is done (proof, point 2).
  void defer_send(Conn& c) {
    ++c.in_flight;
    deferred_sends_.push_back(&c);
  }

  // Closing is asynchronous: cancel what is pending, close the slot, free the object when the last CQE is in.
  void close(Conn& c) {
    if (c.closing) return;
    c.closing = true;
    live_.remove(c);
    closing_.push_back(c);
    protocol_.on_closing(c);
    if (c.recv_armed) cancel(c.user_data(Op::recv));
    if (c.send_armed) cancel(c.user_data(Op::send));  // also ends a send stuck on a peer that never reads
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_close_direct(sqe, c.file_index);
    finish(sqe, c.user_data(Op::close), 0);
    ++c.in_flight;
  }

  // Idle/request/stalled-reader deadline := now + timeout. Every deadline is set to now + the same timeout, so
  // appending to the live list on each refresh keeps it sorted: the timer tick only looks at the front.
  void refresh_deadline(Connection& c) {
    if (timeout_ms_ <= 0 || c.closing) return;
    c.deadline_ms = now_ms() + timeout_ms_;
    live_.remove(c);
    live_.push_back(c);
  }

 private:
  void finish(io_uring_sqe* sqe, std::uint64_t user_data, unsigned sqe_flags) {
    io_uring_sqe_set_data64(sqe, user_data);
    sqe->flags |= static_cast<std::uint8_t>(sqe_flags);
    ++in_flight_total_;
  }

  void submit_send(Connection& c) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_send(sqe, static_cast<int>(c.file_index), c.sending.data() + c.sent_bytes,
                       c.sending.size() - c.sent_bytes, MSG_NOSIGNAL);
    finish(sqe, c.user_data(Op::send), IOSQE_FIXED_FILE);
    ++c.in_flight;
    c.send_armed = true;
    TVT_URING_COUNT(sends, 1);
    TVT_URING_COUNT(send_bytes, c.sending.size() - c.sent_bytes);
  }

  void cancel(std::uint64_t user_data) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel64(sqe, user_data, 0);
    finish(sqe, ignore_tag, 0);
  }

  void arm_accept() {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_multishot_accept_direct(sqe, listen_fd_, nullptr, nullptr, 0);
    finish(sqe, accept_tag, 0);
    accept_armed_ = true;
  }

  void arm_stop() {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_poll_add(sqe, stop_.fd(), POLLIN);  // never read: it stays readable for every waiter
    finish(sqe, stop_tag, 0);
  }

  void arm_timer() {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_timeout(sqe, &tick_, 0, 0);  // the kernel copies tick_ when it takes the SQE
    finish(sqe, timer_tag, 0);
  }

  void arm_accept_backoff() {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_timeout(sqe, &accept_backoff_, 0, 0);
    finish(sqe, accept_backoff_tag, 0);
  }

  // Returns how many completions it handled.
  unsigned reap() {
    io_uring_cqe* cqe = nullptr;
    unsigned reaped = 0;
    // One at a time, each marked seen before it is handled: handlers submit, and the slot is free again at once.
    while (io_uring_peek_cqe(ring_.get(), &cqe) == 0) {
      const std::uint64_t user_data = cqe->user_data;
      const int result = cqe->res;
      const unsigned flags = cqe->flags;
      io_uring_cqe_seen(ring_.get(), cqe);
      dispatch(user_data, result, flags);
      ++reaped;
    }
    TVT_URING_COUNT(cqes, reaped);
    return reaped;
  }

  // Makes one batch as large as an epoll loop's before the batch's sends start; returns the completions it added.
  // A wait for 1 completion hands over at most ~40 deferred ones on Linux >= 6.13 however many are due (Ring::
  // take_due): measured at chat @10,000, every kernel pass ran exactly 20 (tracepoint
  // io_uring:io_uring_local_work_run), a batch held ~40 incoming messages, and each member got about one message
  // per send, where the epoll loops, taking up to 256 ready sockets per wait, coalesce more the further behind they
  // are. So when the wait's batch reached a pass's 20 (more may be due), one more enter takes up to drain_budget of
  // what is due, without sleeping. A batch under 20 had nothing more due when the kernel looked: no extra call.
  unsigned reap_backlog(unsigned reaped) {
    if (reaped < kernel_pass_items) return 0;
    const int result = ring_.take_due(drain_budget);
    if (result < 0 && result != -ETIME && result != -EINTR && result != -EBUSY && result != -EAGAIN)
      throw std::system_error(-result, std::generic_category(), "io_uring_submit_and_wait_timeout");
    TVT_URING_COUNT(drain_enters, 1);
    const unsigned drained = reap();
    TVT_URING_COUNT(drain_cqes, drained);
    return drained;
  }

  void dispatch(std::uint64_t user_data, int result, unsigned flags) {
    if (!(flags & IORING_CQE_F_MORE)) --in_flight_total_;
    if (user_data < first_connection_user_data) return on_control(user_data, result, flags);
    Conn& c = static_cast<Conn&>(*connection_of(user_data));
    --c.in_flight;  // proof, point 1: first, before anything can look at or free the connection
    switch (op_of(user_data)) {
      case Op::recv: on_recv(c, result, flags); break;
      case Op::send: on_send(c, result); break;
      case Op::close:
        if (result < 0 && !stopping_) {
          static net::RateLimitedLog log;
          log.write("close of a fixed file: %s", net::strerror_safe(-result));
        }
        break;
    }
    maybe_free(c);
  }

  void on_recv(Conn& c, int result, unsigned flags) {
    TVT_URING_COUNT(recv_cqes, 1);
    c.recv_armed = false;
    struct GiveBack {  // buffer_ring.hpp: a buffer named by a CQE goes back exactly once, whatever happens below
      BufferRing& buffers;
      int id;
      ~GiveBack() {
        if (id >= 0) buffers.give_back(static_cast<std::uint16_t>(id));
      }
    } give_back{buffers_, (flags & IORING_CQE_F_BUFFER) ? static_cast<int>(flags >> IORING_CQE_BUFFER_SHIFT) : -1};
    if (c.closing || stopping_) return;
    if (result == -ENOBUFS) {  // every read buffer is in use: wait for this batch to give them back (no spinning)
      ++c.in_flight;           // proof, point 2
      starved_.push_back(&c);
      return;
    }
    if (result == 0) return protocol_.on_peer_closed(*this, c);
    if (result < 0 || give_back.id < 0) {
      if (result < 0 && !is_routine_error(-result)) {
        static net::RateLimitedLog log;
        log.write("recv: %s", net::strerror_safe(-result));
      }
      return close(c);
    }
    try {
      protocol_.on_bytes(*this, c, buffers_.bytes(static_cast<std::uint16_t>(give_back.id),
                                                  static_cast<std::size_t>(result)));
    } catch (const std::bad_alloc&) {  // a huge request on a machine out of memory: this connection ends, not the server
      static net::RateLimitedLog log;
      log.write("closing a connection: out of memory");
      close(c);
    }
  }

  void on_send(Conn& c, int result) {
    c.send_armed = false;
    if (c.closing || stopping_) return;
    if (result <= 0) {
      if (result < 0 && !is_routine_error(-result)) {
        static net::RateLimitedLog log;
        log.write("send: %s", net::strerror_safe(-result));
      }
      return close(c);
    }
    c.sent_bytes += static_cast<std::size_t>(result);
    protocol_.on_send_progress(*this, c);
    if (c.sent_bytes < c.sending.size()) {  // a partial send: go on with the rest
      TVT_URING_COUNT(short_sends, 1);
      return submit_send(c);
    }
    protocol_.on_sent(*this, c);
  }

  void maybe_free(Conn& c) {
    if (!c.closing || c.in_flight != 0) return;  // proof, point 3
    closing_.remove(c);
    delete &c;
  }

  void on_control(std::uint64_t tag, int result, unsigned flags) {
    switch (tag) {
      case accept_tag: return on_accept(result, flags);
      case accept_backoff_tag:
        if (!stopping_) arm_accept();
        return;
      case timer_tag: return on_tick();
      case stop_tag: stopping_ = true; return;
      default: return;  // ignore_tag
    }
  }

  void on_accept(int result, unsigned flags) {
    if (!(flags & IORING_CQE_F_MORE)) accept_armed_ = false;  // a multishot accept ended: re-armed below
    bool back_off = false;
    if (result >= 0) {
      open_connection(static_cast<std::uint32_t>(result));
    } else if (result == -ENFILE) {
      shed();
    } else if (result != -ECANCELED && result != -ECONNABORTED && result != -EINTR && result != -EAGAIN) {
      static net::RateLimitedLog log;
      log.write("accept: %s", net::strerror_safe(-result));
      back_off = true;  // an unexpected error may repeat: don't turn it into a busy loop
    }
    if (accept_armed_ || stopping_) return;
    if (back_off) {
      arm_accept_backoff();
    } else {
      arm_accept();
    }
  }

  // The fixed-file table is full (-ENFILE). The kernel accepted that connection and closed it when it found no free
  // slot, so it has been shed already; what the listener still holds is shed here like net::Acceptor sheds on EMFILE
  // (accept into an ordinary descriptor, close at once: a clean close instead of a hang in the backlog). Re-arming
  // the accept then waits for the next connection: no spinning while the table stays full.
  void shed() {
    static net::RateLimitedLog log;
    log.write("accept: the fixed-file table is full (%u connections); shedding new connections", table_size_);
    for (int i = 0; i < 64; ++i) {  // bounded: one tick's worth of a flood, the rest on the next CQE
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) break;
      ::close(fd);
    }
  }

  void open_connection(std::uint32_t index) {
    Conn* c = nullptr;
    try {
      c = protocol_.make(index);
    } catch (const std::bad_alloc&) {
      static net::RateLimitedLog log;
      log.write("accept: out of memory; closing the new connection");
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_close_direct(sqe, index);
      finish(sqe, ignore_tag, 0);
      return;
    }
    live_.push_back(*c);
    refresh_deadline(*c);
    arm_recv(*c);
  }

  // Every buffer of the batch just reaped has been given back (on_recv), so as many recvs as there are buffers find
  // one; the longest-starved go first and the rest wait for the next batch. Re-arming them all would have each batch
  // answer most of a connect burst with -ENOBUFS again, a CQE per starved connection per batch. The loop wakes again
  // for those left: this batch re-arms read_buffer_count recvs (closing connections are let go without counting),
  // and a starved recv had bytes waiting, so each completes at once.
  void rearm_starved() {
    if (starved_.empty()) return;
    std::size_t taken = 0;
    for (unsigned armed = 0; taken < starved_.size() && (stopping_ || armed < read_buffer_count); ++taken)
      if (!starved_[taken]->closing) ++armed;
    std::vector<Conn*> due(starved_.begin(), starved_.begin() + static_cast<std::ptrdiff_t>(taken));
    starved_.erase(starved_.begin(), starved_.begin() + static_cast<std::ptrdiff_t>(taken));
    release_held(due, [this](Conn& c) {
      if (!c.closing) arm_recv(c);
    });
  }

  void start_deferred_sends() {
    release_held(deferred_sends_, [this](Conn& c) { Protocol::start_deferred_send(*this, c); });
  }

  // Empties a list of held connections (proof, point 2): each one's hold is dropped, `resume` runs unless the loop
  // is stopping, and a connection that was only waiting there to be freed is freed.
  template <class Resume>
  void release_held(std::vector<Conn*>& held, Resume resume) {
    if (held.empty()) return;
    std::vector<Conn*> due;
    due.swap(held);
    for (Conn* c : due) {
      --c->in_flight;
      if (!stopping_) resume(*c);
      maybe_free(*c);
    }
  }

  // Closes every connection whose deadline has passed: idle, a request not received whole, or a reader that has
  // taken no byte of its reply, each for the idle timeout.
  void on_tick() {
    const auto now = now_ms();
    while (!live_.empty() && static_cast<Conn*>(live_.front())->deadline_ms <= now) {
      Conn& c = *static_cast<Conn*>(live_.front());
      static net::RateLimitedLog log;
      log.write("closing a connection: %s for %lld ms",
                c.send_armed ? "a reader that takes no bytes" : "idle, or a request not received whole",
                static_cast<long long>(timeout_ms_));
      close(c);
    }
    if (!stopping_) arm_timer();
  }

  void shut_down() {
    stopping_ = true;
    // Cancel by user_data, one request at a time: each is a hash lookup in the kernel. (One IORING_ASYNC_CANCEL_ANY
    // rescans the pending requests for every one it cancels: 2.7 s at 19,000 connections, past the stop budget.)
    // A request not pending makes its cancel complete with -ENOENT: harmless, so no bookkeeping of which is armed.
    cancel(accept_tag);
    cancel(accept_backoff_tag);
    if (timeout_ms_ > 0) cancel(timer_tag);
    // close() cancels each connection's recv/send and closes its slot. In chunks, reaping in between, so the up to
    // three completions per connection never pile up past the CQ.
    constexpr int chunk = 2048;
    while (!live_.empty()) {
      for (int i = 0; i < chunk && !live_.empty(); ++i) close(*static_cast<Conn*>(live_.front()));
      const int result = io_uring_submit_and_get_events(ring_.get());
      if (result < 0 && result != -EINTR && result != -EBUSY && result != -EAGAIN)
        throw std::system_error(-result, std::generic_category(), "io_uring_submit_and_get_events");
      reap();
    }
    const auto give_up = std::chrono::steady_clock::now() + shutdown_budget;
    while (in_flight_total_ > 0 && std::chrono::steady_clock::now() < give_up) {
      __kernel_timespec wait{0, 50'000'000};
      io_uring_cqe* cqe = nullptr;
      const int result = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &wait, nullptr);
      if (result < 0 && result != -ETIME && result != -EINTR && result != -EBUSY && result != -EAGAIN) break;
      reap();  // handlers see stopping_: they give buffers back and count completions, and issue nothing new
      rearm_starved();  // stopping_: drops the holds, re-arms nothing
      start_deferred_sends();
    }
    if (in_flight_total_ != 0) {
      static net::RateLimitedLog log;
      log.write("stop: %lld requests still pending after %lld ms; leaving their connections to the exit",
                static_cast<long long>(in_flight_total_), static_cast<long long>(shutdown_budget.count()));
    }
  }

  static void free_all(ConnectionList& list) {
    while (!list.empty()) {
      Connection* c = list.front();
      list.remove(*c);
      delete static_cast<Conn*>(c);
    }
  }

  BufferRing buffers_;  // declared before ring_: unmapped only after the ring that used it is gone
  Ring ring_;
  Protocol protocol_;
  int listen_fd_;
  backend::StopSignal& stop_;
  std::int64_t timeout_ms_;
  unsigned table_size_;
  __kernel_timespec tick_{};
  __kernel_timespec accept_backoff_{0, 10'000'000};
  ConnectionList live_;     // open connections, ordered by deadline when there is an idle timeout
  ConnectionList closing_;  // close requested, CQEs still due
  std::vector<Conn*> starved_;
  std::vector<Conn*> deferred_sends_;  // chat: members whose send starts after this batch (their outbox has bytes)
  std::int64_t in_flight_total_ = 0;  // SQEs (of any kind) whose final CQE has not been reaped
  bool accept_armed_ = false;
  bool stopping_ = false;
};

template <class Protocol>
void run_loop(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop, Protocol protocol) {
  Loop<Protocol>(listen_fd, options, stop, std::move(protocol)).run();
}

}  // namespace

void UringBackend::serve(int listen_fd, const backend::ServerOptions& options, backend::StopSignal& stop) {
  // --offload is ignored, as the asio back end does: one thread, nothing to offload to; compute runs inline.
  const auto& workload = options.workload;
  if (workload.workload == protocol::Workload::chat) {
    return run_loop(listen_fd, options, stop,
                    ChatProtocol{ChatHub{}, workload.limits.chat_outbox_bytes, workload.limits.max_line_bytes});
  }
  protocol::with_session_factory(workload, [&](auto make_session) {
    run_loop(listen_fd, options, stop, SessionProtocol<decltype(make_session)>{make_session});
  });
}

}  // namespace tvt::uring
