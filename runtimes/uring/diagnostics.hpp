#pragma once
// Counters of what the loop does per batch, for explaining a figure (runtimes/uring/README.md, "Chat fan-out"):
// compiled in only with the CMake option TVT_URING_DIAGNOSTICS=ON (use a build directory of its own: see the
// README); otherwise TVT_URING_COUNT expands to nothing and the loop carries no counter.
// One thread owns the loop, so the counters are plain integers; they are printed to stderr when the loop ends.
#include <cstdint>
#include <cstdio>

namespace tvt::uring::diagnostics {

struct Counters {
  std::uint64_t batches = 0;       // loop iterations: one wait, its completions, then the deferred sends
  std::uint64_t capped_waits = 0;  // waits that handed over >= 20 completions: the kernel's per-pass cap, maybe hit
  std::uint64_t drain_enters = 0;  // io_uring_enter calls made to take more of a batch (reap_backlog)
  std::uint64_t drain_cqes = 0;    // completions those calls added
  std::uint64_t cqes = 0;
  std::uint64_t recv_cqes = 0;
  std::uint64_t max_batch_cqes = 0;
  std::uint64_t sends = 0;        // send SQEs, partial-send continuations included
  std::uint64_t send_bytes = 0;   // bytes those SQEs asked to send
  std::uint64_t short_sends = 0;  // sends that took fewer bytes than asked

  ~Counters() {
    if (batches == 0) return;
    const auto per = [](std::uint64_t a, std::uint64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; };
    std::fprintf(stderr,
                 "uring diagnostics: batches %llu, capped waits %llu, drain enters %llu (%.1f CQEs each), CQEs %llu "
                 "(%.1f per batch, max %llu), recv CQEs %.1f per batch, sends %llu (%.1f per batch, %.1f bytes each, "
                 "%llu short)\n",
                 static_cast<unsigned long long>(batches), static_cast<unsigned long long>(capped_waits),
                 static_cast<unsigned long long>(drain_enters), per(drain_cqes, drain_enters),
                 static_cast<unsigned long long>(cqes), per(cqes, batches),
                 static_cast<unsigned long long>(max_batch_cqes), per(recv_cqes, batches),
                 static_cast<unsigned long long>(sends), per(sends, batches), per(send_bytes, sends),
                 static_cast<unsigned long long>(short_sends));
  }
};

inline Counters& counters() {
  static Counters c;
  return c;
}

}  // namespace tvt::uring::diagnostics

#if defined(TVT_URING_DIAGNOSTICS)
#define TVT_URING_COUNT(field, n) (::tvt::uring::diagnostics::counters().field += (n))
#define TVT_URING_MAX(field, v)                                                  \
  do {                                                                           \
    auto& counter_ = ::tvt::uring::diagnostics::counters().field;                \
    if ((v) > counter_) counter_ = (v);                                          \
  } while (0)
#else
#define TVT_URING_COUNT(field, n) ((void)0)
#define TVT_URING_MAX(field, v) ((void)0)
#endif
