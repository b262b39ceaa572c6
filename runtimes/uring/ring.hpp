#pragma once
// An owned io_uring instance (RAII around liburing's `struct io_uring`), created for one thread.
//
// Ownership: the ring owns its submission/completion queues and, once registered, the fixed-file table and the
// provided-buffer rings. Destroying it (io_uring_queue_exit) cancels whatever is still pending and closes every
// file left in the fixed-file table; the caller must have reaped every completion that refers to memory it is about
// to free before that (see uring_backend.cpp's shutdown order).
#include <liburing.h>

#include <cerrno>
#include <system_error>

namespace tvt::uring {

class Ring {
 public:
  // `cq_entries`: completion-queue size, generous on purpose (see uring_backend.cpp: every connection can have a
  // completion due at once, and an overflowing CQ costs the kernel an allocation per entry).
  Ring(unsigned sq_entries, unsigned cq_entries) {
    // Most specific first: one issuer thread with deferred task work (completions run when we wait, not as
    // interrupts), then cooperative task work, then plain (older kernels). CQSIZE everywhere.
    const unsigned attempts[] = {
        IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
        IORING_SETUP_CQSIZE,
    };
    int result = -EINVAL;
    for (unsigned flags : attempts) {
      io_uring_params params{};
      params.flags = flags;
      params.cq_entries = cq_entries;
      result = io_uring_queue_init_params(sq_entries, &ring_, &params);
      if (result != -EINVAL) break;
    }
    if (result < 0) throw std::system_error(-result, std::generic_category(), "io_uring_queue_init_params");
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() { io_uring_queue_exit(&ring_); }

  io_uring* get() { return &ring_; }

  // Submits what is queued and takes up to `budget` completions that are due, without sleeping. On a DEFER_TASKRUN
  // ring a completion of a request that waited in a poll is deferred task work, run inside io_uring_enter, at most
  // max(IO_LOCAL_TW_DEFAULT_MAX = 20, min_complete) items per pass (Linux >= 6.13; passes go on while fewer than
  // min_complete were posted): so a wait for 1 completion hands over ~20-40 however many are due, while asking for
  // `budget` with a zero timeout runs up to `budget` of them in this one call and returns at once. Returns what
  // io_uring_submit_and_wait_timeout returned: -ETIME when fewer than `budget` were due (the usual case).
  int take_due(unsigned budget) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec no_wait{0, 0};  // the kernel reads it during the call
    return io_uring_submit_and_wait_timeout(&ring_, &cqe, budget, &no_wait, nullptr);
  }

  // A free submission entry, submitting what is queued when the queue is full. Throws when the kernel will take
  // nothing (it returns -EBUSY/-EAGAIN only under memory pressure or a completion backlog; the caller's loop reaps
  // completions between batches, so a few retries suffice in practice).
  io_uring_sqe* sqe() {
    for (int attempt = 0; attempt < 64; ++attempt) {
      if (io_uring_sqe* entry = io_uring_get_sqe(&ring_)) return entry;
      const int submitted = io_uring_submit(&ring_);
      if (submitted < 0 && submitted != -EINTR && submitted != -EAGAIN && submitted != -EBUSY)
        throw std::system_error(-submitted, std::generic_category(), "io_uring_submit");
    }
    throw std::system_error(EBUSY, std::generic_category(), "io_uring: submission queue stays full");
  }

 private:
  io_uring ring_{};
};

}  // namespace tvt::uring
