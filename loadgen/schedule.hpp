#pragma once
// When each connection's open-loop sends (or chat posts) are due, and how to check afterwards that the realized sends
// kept to that schedule.
//
// Slot s of N, total rate R:
//   uniform: due at s/R + k·N/R (all connections together: R per second, evenly interleaved), as wrk2 does.
//   poisson: each connection is an independent Poisson process at R/N, so all together are one Poisson process at R
//            (a superposition of independent Poisson processes is Poisson). Its exponential inter-arrival times are
//            precomputed before the run from a generator seeded by (seed, slot): the same seed gives the same
//            schedule in every run and in every worker process, and nothing is drawn on the send path.
// Times are nanoseconds after the run's `go` instant.
#include <cstdint>
#include <string_view>
#include <vector>

#include "loadgen/histogram.hpp"

namespace tvt::loadgen {

enum class Arrivals { uniform, poisson };
std::string_view arrivals_name(Arrivals a);

class ArrivalSchedule {
 public:
  static constexpr std::int64_t never = INT64_MAX;

  ArrivalSchedule() = default;
  // Dues are precomputed up to `span_ns` after go (poisson); slots [slot_begin, slot_end) of `total_connections`.
  ArrivalSchedule(Arrivals arrivals, double rate, std::uint32_t total_connections, std::uint32_t slot_begin,
                  std::uint32_t slot_end, std::int64_t span_ns, std::uint64_t seed);

  // The k-th due time of `slot` (never: past the precomputed span).
  std::int64_t due(std::uint32_t slot, std::uint64_t k) const;
  // The first k whose due time is >= t.
  std::uint64_t first_at_or_after(std::uint32_t slot, std::int64_t t) const;
  // How many k >= from_k are due in [from, to).
  std::int64_t count_due(std::uint32_t slot, std::uint64_t from_k, std::int64_t from, std::int64_t to) const;
  // The mean gap between two dues of one connection (N/R seconds, in ns).
  double mean_gap_ns() const { return mean_gap_ns_; }

 private:
  Arrivals arrivals_ = Arrivals::uniform;
  double rate_ = 0;
  double mean_gap_ns_ = 0;
  std::int64_t interval_ns_ = 0;      // uniform: N/R, truncated as the engine always did
  std::uint32_t slot_begin_ = 0;
  std::vector<std::uint32_t> first_;  // poisson: per local slot, its first entry in dues_ (one more entry: the end)
  std::vector<std::int64_t> dues_;
};

// Late sends of one thread: a send due in the window that left more than the threshold after it was due is late;
// the worst lateness is kept whatever the threshold. Lateness is the client's own delay (timer wake-up, other
// connections' work, a reply still out) and is reported apart from latency.
struct LatenessTally {
  std::int64_t threshold_ns = 50'000;
  std::int64_t late = 0;
  std::int64_t worst_ns = 0;
  void add(std::int64_t due_ns, std::int64_t sent_ns) {
    const std::int64_t lateness = sent_ns - due_ns;
    if (lateness > threshold_ns) ++late;
    if (lateness > worst_ns) worst_ns = lateness;
  }
};

// Whether a send's lateness belongs to the measured window [start, end): it was due in it, or it left in it. A client
// so far behind that its sends in the window were all due in the warm-up is the latest of all, and must not report 0.
inline bool lateness_in_window(std::int64_t due_ns, std::int64_t sent_ns, std::int64_t start_ns, std::int64_t end_ns) {
  return (due_ns >= start_ns && due_ns < end_ns) || (sent_ns >= start_ns && sent_ns < end_ns);
}

// Inter-send gaps are recorded in a Histogram in these units: 1/gap_units_per_mean of the schedule's mean gap, so
// that the histogram's relative precision serves any rate.
inline constexpr double gap_units_per_mean = 10'000;

// Goodness of fit of realized inter-send gaps (a Histogram in gap units) to the exponential distribution of a Poisson
// schedule: the one-sample Kolmogorov–Smirnov statistic D, evaluated at the histogram's bucket boundaries (where the
// empirical CDF is exact), and its asymptotic p-value. nullopt-like: p = -1 when there are fewer than 2 gaps.
struct FitResult {
  double d = 0;
  double p = -1;
  std::int64_t n = 0;
};
FitResult exponential_fit(const Histogram& gaps);
// The Kolmogorov distribution's survival function with Stephens' small-sample correction: P(D_n > d).
double ks_p_value(double d, std::int64_t n);

}  // namespace tvt::loadgen
