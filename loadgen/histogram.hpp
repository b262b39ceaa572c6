#pragma once
// A latency histogram with HdrHistogram's bucket layout (log-linear: each power-of-two bucket split into equal
// sub-buckets), so that every recorded value keeps its magnitude within a fixed relative error and two histograms add
// exactly. Layout parameters follow HdrHistogram (lowest discernible value, highest trackable value, significant
// digits), so that the V2 encoding in hdr_log.hpp is readable by standard HdrHistogram tooling.
//
// Not thread-safe: each engine thread records into its own histograms; they are merged after the threads hand them
// over (hist_add is exact: counts are added index by index).
#include <cstdint>
#include <vector>

namespace tvt::loadgen {

class Histogram {
 public:
  // Defaults: latencies in microseconds, 1 us .. 60 s, 2 significant digits (relative error <= 1/128 < 1 %).
  static constexpr std::int64_t default_lowest_us = 1;
  static constexpr std::int64_t default_highest_us = 60'000'000;
  static constexpr int default_significant_digits = 2;

  Histogram() : Histogram(default_lowest_us, default_highest_us, default_significant_digits) {}
  Histogram(std::int64_t lowest_discernible, std::int64_t highest_trackable, int significant_digits);

  // Values above the highest trackable value are clamped to it (and counted in clamped()); negative ones to 0.
  void record(std::int64_t value) { record_n(value, 1); }
  void record_n(std::int64_t value, std::int64_t count);

  // Exact merge when both share the layout (always true for default-constructed ones); otherwise each of `other`'s
  // buckets is re-recorded at its lowest equivalent value.
  void add(const Histogram& other);
  void reset();

  std::int64_t count() const { return total_count_; }
  std::int64_t clamped() const { return clamped_count_; }
  std::int64_t min() const;  // lowest equivalent value of the smallest recorded value (0 when empty)
  std::int64_t max() const;  // highest equivalent value of the largest recorded value (0 when empty)
  double mean() const;
  // The value at `percentile` (0..100): the highest value equivalent to the one below which that share of recorded
  // values falls (HdrHistogram's definition). 0 when empty.
  std::int64_t percentile(double percentile) const;

  // Layout, for the encoder and decoder.
  std::int64_t lowest_discernible() const { return lowest_discernible_; }
  std::int64_t highest_trackable() const { return highest_trackable_; }
  int significant_digits() const { return significant_digits_; }
  std::size_t counts_length() const { return counts_.size(); }
  std::int64_t count_at_index(std::size_t index) const { return counts_[index]; }
  void add_at_index(std::size_t index, std::int64_t count);  // decoder: index must be < counts_length()
  std::int64_t value_at_index(std::size_t index) const;
  std::size_t index_of(std::int64_t value) const;
  std::int64_t lowest_equivalent(std::int64_t value) const;
  std::int64_t highest_equivalent(std::int64_t value) const;
  std::int64_t equivalent_range(std::int64_t value) const;
  // Index one past the last non-zero count (what the encoder writes).
  std::size_t used_length() const;

 private:
  int bucket_index(std::int64_t value) const;
  int sub_bucket_index(std::int64_t value, int bucket) const {
    return static_cast<int>(value >> (bucket + unit_magnitude_));
  }

  std::int64_t lowest_discernible_;
  std::int64_t highest_trackable_;
  int significant_digits_;
  int unit_magnitude_;
  int sub_bucket_half_count_magnitude_;
  int sub_bucket_count_;
  int sub_bucket_half_count_;
  std::int64_t sub_bucket_mask_;
  int bucket_count_;
  std::int64_t total_count_ = 0;
  std::int64_t clamped_count_ = 0;
  std::int64_t min_value_ = INT64_MAX;  // raw recorded extremes, to find min()/max() without a scan
  std::int64_t max_value_ = 0;
  std::vector<std::int64_t> counts_;
};

}  // namespace tvt::loadgen
