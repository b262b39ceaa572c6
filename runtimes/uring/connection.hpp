#pragma once
// What every io_uring connection holds, whatever its workload, and how a completion finds it.
//
// A connection is named to the kernel twice: by its slot in the fixed-file table (`file_index`, what its SQEs
// operate on) and by its address (in each SQE's user_data, what its CQEs come back with). The address is the one that
// matters for lifetime: see `in_flight` below and the proof at the top of uring_backend.cpp.
//
// Memory per idle connection is what the suite measures, so this is kept small: no read buffer (reads use the
// provided-buffer ring), no reply buffer while idle (`sending` is released after every send), two list links.
#include <cstddef>
#include <cstdint>
#include <string>

namespace tvt::uring {

// What a connection's SQE was, carried in the low bits of user_data (connections are at least 8-byte aligned).
enum class Op : std::uint64_t { recv = 0, send = 1, close = 2 };
inline constexpr std::uint64_t op_mask = 3;

struct Connection {
  // Intrusive doubly-linked list membership: the loop's live list (ordered by `deadline_ms`) or its closing list.
  Connection* prev = nullptr;
  Connection* next = nullptr;
  // Bytes handed to the kernel by the send in flight (and the rest of a reply not yet sent). Invariant: never
  // modified or freed while `send_armed`: the kernel reads from it until the send's CQE arrives.
  std::string sending;
  std::size_t sent_bytes = 0;    // how much of `sending` the kernel has taken
  std::int64_t deadline_ms = 0;  // steady clock ms: idle / request / stalled-reader deadline (0 = none)
  std::uint32_t file_index;      // slot in the fixed-file table (IOSQE_FIXED_FILE)
  // SQEs whose CQE has not arrived yet, plus one while the connection waits in the loop's starved list. The object
  // is freed only when this is 0 *and* `closing` is set; every path that frees checks both.
  std::uint8_t in_flight = 0;
  bool recv_armed = false;
  bool send_armed = false;
  bool closing = false;          // close requested: no new SQE but the close itself will be issued
  bool close_after_send = false;  // the session said close: send what is queued, then close

  explicit Connection(std::uint32_t index) : file_index(index) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::uint64_t user_data(Op op) { return reinterpret_cast<std::uintptr_t>(this) | static_cast<std::uint64_t>(op); }
};

// Decoding a CQE's user_data: values below this are the loop's own (accept, timer, stop, ...), never an address.
inline constexpr std::uint64_t first_connection_user_data = 4096;

inline Connection* connection_of(std::uint64_t user_data) {
  return reinterpret_cast<Connection*>(static_cast<std::uintptr_t>(user_data & ~op_mask));
}
inline Op op_of(std::uint64_t user_data) { return static_cast<Op>(user_data & op_mask); }

// An intrusive list of connections (no allocation on insert/remove: connections come and go at connect-storm rates).
class ConnectionList {
 public:
  bool empty() const { return head_ == nullptr; }
  Connection* front() const { return head_; }

  void push_back(Connection& c) {
    c.prev = tail_;
    c.next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = &c;
    } else {
      head_ = &c;
    }
    tail_ = &c;
  }
  void remove(Connection& c) {
    if (c.prev != nullptr) {
      c.prev->next = c.next;
    } else {
      head_ = c.next;
    }
    if (c.next != nullptr) {
      c.next->prev = c.prev;
    } else {
      tail_ = c.prev;
    }
    c.prev = c.next = nullptr;
  }

 private:
  Connection* head_ = nullptr;
  Connection* tail_ = nullptr;
};

}  // namespace tvt::uring
