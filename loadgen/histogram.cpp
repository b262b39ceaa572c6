#include "loadgen/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace tvt::loadgen {

Histogram::Histogram(std::int64_t lowest_discernible, std::int64_t highest_trackable, int significant_digits)
    : lowest_discernible_(lowest_discernible),
      highest_trackable_(highest_trackable),
      significant_digits_(significant_digits) {
  if (lowest_discernible < 1 || significant_digits < 0 || significant_digits > 5 ||
      highest_trackable < 2 * lowest_discernible)
    throw std::invalid_argument("histogram: bad layout");
  // Values below 2 * 10^digits get unit resolution; the sub-bucket count is the power of two that covers them.
  const std::int64_t single_unit_limit = 2 * static_cast<std::int64_t>(std::pow(10, significant_digits));
  const int sub_bucket_count_magnitude =
      static_cast<int>(std::ceil(std::log2(static_cast<double>(single_unit_limit))));
  sub_bucket_half_count_magnitude_ = std::max(sub_bucket_count_magnitude, 1) - 1;
  unit_magnitude_ = static_cast<int>(std::floor(std::log2(static_cast<double>(lowest_discernible))));
  sub_bucket_count_ = 1 << (sub_bucket_half_count_magnitude_ + 1);
  sub_bucket_half_count_ = sub_bucket_count_ / 2;
  sub_bucket_mask_ = static_cast<std::int64_t>(sub_bucket_count_ - 1) << unit_magnitude_;
  std::int64_t smallest_untrackable = static_cast<std::int64_t>(sub_bucket_count_) << unit_magnitude_;
  bucket_count_ = 1;
  while (smallest_untrackable <= highest_trackable) {
    if (smallest_untrackable > INT64_MAX / 2) {
      ++bucket_count_;
      break;
    }
    smallest_untrackable <<= 1;
    ++bucket_count_;
  }
  counts_.assign(static_cast<std::size_t>((bucket_count_ + 1) * sub_bucket_half_count_), 0);
}

int Histogram::bucket_index(std::int64_t value) const {
  // Power of two that contains the value, counted from the first bucket.
  const int pow2_ceiling = 64 - std::countl_zero(static_cast<std::uint64_t>(value | sub_bucket_mask_));
  return pow2_ceiling - unit_magnitude_ - (sub_bucket_half_count_magnitude_ + 1);
}

std::size_t Histogram::index_of(std::int64_t value) const {
  const int bucket = bucket_index(value);
  const int sub_bucket = sub_bucket_index(value, bucket);
  // Bucket 0 uses all its sub-buckets; every later bucket only its upper half (the lower half is bucket - 1's range).
  const int bucket_base = (bucket + 1) << sub_bucket_half_count_magnitude_;
  return static_cast<std::size_t>(bucket_base + sub_bucket - sub_bucket_half_count_);
}

std::int64_t Histogram::value_at_index(std::size_t index) const {
  int bucket = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
  int sub_bucket = static_cast<int>(index & static_cast<std::size_t>(sub_bucket_half_count_ - 1)) + sub_bucket_half_count_;
  if (bucket < 0) {
    sub_bucket -= sub_bucket_half_count_;
    bucket = 0;
  }
  return static_cast<std::int64_t>(sub_bucket) << (bucket + unit_magnitude_);
}

std::int64_t Histogram::equivalent_range(std::int64_t value) const {
  const int bucket = bucket_index(value);
  const int sub_bucket = sub_bucket_index(value, bucket);
  const int adjusted = sub_bucket >= sub_bucket_count_ ? bucket + 1 : bucket;
  return std::int64_t{1} << (unit_magnitude_ + adjusted);
}

std::int64_t Histogram::lowest_equivalent(std::int64_t value) const {
  const int bucket = bucket_index(value);
  return static_cast<std::int64_t>(sub_bucket_index(value, bucket)) << (bucket + unit_magnitude_);
}

std::int64_t Histogram::highest_equivalent(std::int64_t value) const {
  return lowest_equivalent(value) + equivalent_range(value) - 1;
}

void Histogram::record_n(std::int64_t value, std::int64_t count) {
  if (value < 0) value = 0;
  if (value > highest_trackable_) {
    value = highest_trackable_;
    clamped_count_ += count;
  }
  counts_[index_of(value)] += count;
  total_count_ += count;
  min_value_ = std::min(min_value_, value);
  max_value_ = std::max(max_value_, value);
}

void Histogram::add_at_index(std::size_t index, std::int64_t count) {
  if (count == 0) return;
  counts_[index] += count;
  total_count_ += count;
  const std::int64_t value = value_at_index(index);
  min_value_ = std::min(min_value_, value);
  max_value_ = std::max(max_value_, value);
}

void Histogram::add(const Histogram& other) {
  if (other.counts_.size() != counts_.size() || other.unit_magnitude_ != unit_magnitude_ ||
      other.sub_bucket_count_ != sub_bucket_count_) {
    // A different layout (a log written by another tool): re-record each bucket at its lowest equivalent value, so
    // the merge is exact up to this histogram's own resolution.
    for (std::size_t i = 0; i < other.counts_.size(); ++i)
      if (other.counts_[i] != 0) record_n(other.value_at_index(i), other.counts_[i]);
    return;
  }
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_count_ += other.total_count_;
  clamped_count_ += other.clamped_count_;
  min_value_ = std::min(min_value_, other.min_value_);
  max_value_ = std::max(max_value_, other.max_value_);
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_count_ = 0;
  clamped_count_ = 0;
  min_value_ = INT64_MAX;
  max_value_ = 0;
}

std::int64_t Histogram::min() const { return total_count_ == 0 ? 0 : lowest_equivalent(min_value_); }

std::int64_t Histogram::max() const { return total_count_ == 0 ? 0 : highest_equivalent(max_value_); }

double Histogram::mean() const {
  if (total_count_ == 0) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const std::int64_t value = value_at_index(i);
    // The middle of the equivalent range, as HdrHistogram does.
    sum += static_cast<double>(counts_[i]) * static_cast<double>(value + (equivalent_range(value) >> 1));
  }
  return sum / static_cast<double>(total_count_);
}

std::int64_t Histogram::percentile(double percentile) const {
  if (total_count_ == 0) return 0;
  const double requested = std::clamp(percentile, 0.0, 100.0);
  auto count_at_percentile =
      static_cast<std::int64_t>(requested / 100.0 * static_cast<double>(total_count_) + 0.5);
  count_at_percentile = std::max<std::int64_t>(count_at_percentile, 1);
  std::int64_t running = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    running += counts_[i];
    if (running >= count_at_percentile) {
      const std::int64_t value = value_at_index(i);
      return requested == 0.0 ? lowest_equivalent(value) : highest_equivalent(value);
    }
  }
  return max();
}

std::size_t Histogram::used_length() const {
  std::size_t n = counts_.size();
  while (n > 0 && counts_[n - 1] == 0) --n;
  return n;
}

}  // namespace tvt::loadgen
