#include "loadgen/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace tvt::loadgen {
namespace {
constexpr double ns_per_s = 1e9;

std::uint64_t mix(std::uint64_t z) {  // splitmix64: decorrelates the per-slot seeds
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

std::string_view arrivals_name(Arrivals a) { return a == Arrivals::poisson ? "poisson" : "uniform"; }

ArrivalSchedule::ArrivalSchedule(Arrivals arrivals, double rate, std::uint32_t total_connections,
                                 std::uint32_t slot_begin, std::uint32_t slot_end, std::int64_t span_ns,
                                 std::uint64_t seed)
    : arrivals_(arrivals),
      rate_(rate),
      mean_gap_ns_(static_cast<double>(total_connections) * ns_per_s / rate),
      interval_ns_(static_cast<std::int64_t>(static_cast<double>(total_connections) * ns_per_s / rate)),
      slot_begin_(slot_begin) {
  if (arrivals_ != Arrivals::poisson) return;
  first_.reserve(slot_end - slot_begin + 1);
  dues_.reserve(static_cast<std::size_t>(static_cast<double>(span_ns) / mean_gap_ns_ * (slot_end - slot_begin)) +
                (slot_end - slot_begin));
  for (std::uint32_t slot = slot_begin; slot < slot_end; ++slot) {
    first_.push_back(static_cast<std::uint32_t>(dues_.size()));
    std::mt19937_64 generator(mix(seed ^ mix(slot)));
    std::exponential_distribution<double> gap(1.0 / mean_gap_ns_);
    for (double t = gap(generator); t < static_cast<double>(span_ns); t += gap(generator))
      dues_.push_back(static_cast<std::int64_t>(t));
  }
  first_.push_back(static_cast<std::uint32_t>(dues_.size()));
}

std::int64_t ArrivalSchedule::due(std::uint32_t slot, std::uint64_t k) const {
  if (arrivals_ == Arrivals::uniform)
    return static_cast<std::int64_t>(static_cast<double>(slot) * ns_per_s / rate_) +
           static_cast<std::int64_t>(k) * interval_ns_;
  const std::size_t local = slot - slot_begin_;
  const std::uint64_t count = first_[local + 1] - first_[local];
  return k < count ? dues_[first_[local] + k] : never;
}

std::uint64_t ArrivalSchedule::first_at_or_after(std::uint32_t slot, std::int64_t t) const {
  if (arrivals_ == Arrivals::uniform) {
    const std::int64_t first = due(slot, 0);
    if (t <= first || interval_ns_ <= 0) return 0;
    return static_cast<std::uint64_t>((t - first + interval_ns_ - 1) / interval_ns_);
  }
  const std::size_t local = slot - slot_begin_;
  const auto begin = dues_.begin() + first_[local], end = dues_.begin() + first_[local + 1];
  return static_cast<std::uint64_t>(std::lower_bound(begin, end, t) - begin);
}

std::int64_t ArrivalSchedule::count_due(std::uint32_t slot, std::uint64_t from_k, std::int64_t from,
                                        std::int64_t to) const {
  if (to <= from) return 0;
  const std::uint64_t lo = std::max(from_k, first_at_or_after(slot, from));
  const std::uint64_t hi = first_at_or_after(slot, to);
  return hi > lo ? static_cast<std::int64_t>(hi - lo) : 0;
}

double ks_p_value(double d, std::int64_t n) {
  if (n <= 0) return -1;
  const double sqrt_n = std::sqrt(static_cast<double>(n));
  const double lambda = (sqrt_n + 0.12 + 0.11 / sqrt_n) * d;
  if (lambda < 1e-3) return 1.0;
  // Q(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2); converges fast for lambda >~ 0.3, and is 1 below.
  double sum = 0, sign = 1;
  for (int j = 1; j <= 100; ++j) {
    const double term = sign * 2 * std::exp(-2.0 * j * j * lambda * lambda);
    sum += term;
    if (std::fabs(term) < 1e-12) break;
    sign = -sign;
  }
  return std::clamp(sum, 0.0, 1.0);
}

FitResult exponential_fit(const Histogram& gaps) {
  FitResult fit;
  fit.n = gaps.count();
  if (fit.n < 2) return fit;
  // The empirical CDF is exact just below each bucket's lowest value: compare it with 1 - exp(-x / mean) there.
  std::int64_t below = 0;
  for (std::size_t i = 0; i < gaps.counts_length(); ++i) {
    const std::int64_t count = gaps.count_at_index(i);
    if (count == 0) continue;
    const double edge = static_cast<double>(gaps.lowest_equivalent(gaps.value_at_index(i)));
    const double model_low = 1.0 - std::exp(-edge / gap_units_per_mean);
    const double top = static_cast<double>(gaps.highest_equivalent(gaps.value_at_index(i)) + 1);
    const double model_high = 1.0 - std::exp(-top / gap_units_per_mean);
    const double n = static_cast<double>(fit.n);
    fit.d = std::max(fit.d, std::fabs(static_cast<double>(below) / n - model_low));
    below += count;
    fit.d = std::max(fit.d, std::fabs(static_cast<double>(below) / n - model_high));
  }
  fit.p = ks_p_value(fit.d, fit.n);
  return fit;
}

}  // namespace tvt::loadgen
