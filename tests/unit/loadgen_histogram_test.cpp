// The histogram against exact percentiles of sorted arrays, on several distributions, and its exact merge.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "loadgen/histogram.hpp"

namespace {

using tvt::loadgen::Histogram;

// The exact value at a percentile, with HdrHistogram's rank (round half up, at least 1).
std::int64_t exact_percentile(const std::vector<std::int64_t>& sorted, double percentile) {
  auto rank = static_cast<std::int64_t>(percentile / 100.0 * static_cast<double>(sorted.size()) + 0.5);
  rank = std::clamp<std::int64_t>(rank, 1, static_cast<std::int64_t>(sorted.size()));
  return sorted[static_cast<std::size_t>(rank - 1)];
}

// <= 1 % relative error (2 significant digits gives 1/128), and never below the exact value.
void expect_within_precision(std::int64_t reported, std::int64_t exact) {
  EXPECT_GE(reported, exact);
  EXPECT_LE(static_cast<double>(reported - exact), std::max(0.01 * static_cast<double>(exact), 0.0))
      << "reported " << reported << " exact " << exact;
}

template <class Draw>
void check_distribution(Draw draw, std::size_t samples) {
  std::mt19937_64 rng(12345);
  Histogram h;
  std::vector<std::int64_t> values;
  values.reserve(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    const auto v = std::clamp<std::int64_t>(draw(rng), 0, Histogram::default_highest_us);
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  ASSERT_EQ(h.count(), static_cast<std::int64_t>(samples));
  for (double p : {1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0})
    expect_within_precision(h.percentile(p), exact_percentile(values, p));
  expect_within_precision(h.max(), values.back());
  const double exact_mean = [&] {
    double sum = 0;
    for (auto v : values) sum += static_cast<double>(v);
    return sum / static_cast<double>(values.size());
  }();
  EXPECT_NEAR(h.mean(), exact_mean, 0.01 * exact_mean + 1);
}

TEST(LoadgenHistogram, UniformPercentilesWithinOnePercent) {
  check_distribution([](auto& rng) { return std::uniform_int_distribution<std::int64_t>(1, 2'000'000)(rng); }, 200'000);
}

TEST(LoadgenHistogram, LogNormalPercentilesWithinOnePercent) {
  check_distribution([](auto& rng) { return std::llround(std::lognormal_distribution<double>(6.0, 1.5)(rng)); },
                     200'000);
}

TEST(LoadgenHistogram, ExponentialPercentilesWithinOnePercent) {
  check_distribution([](auto& rng) { return std::llround(std::exponential_distribution<double>(1e-4)(rng)); }, 200'000);
}

TEST(LoadgenHistogram, BimodalWithStallTailWithinOnePercent) {
  check_distribution(
      [](auto& rng) {
        const bool stalled = std::uniform_int_distribution<int>(0, 999)(rng) == 0;
        return stalled ? std::uniform_int_distribution<std::int64_t>(500'000, 1'500'000)(rng)
                       : std::uniform_int_distribution<std::int64_t>(20, 400)(rng);
      },
      100'000);
}

TEST(LoadgenHistogram, SmallValuesAreExact) {
  Histogram h;
  for (std::int64_t v = 0; v < 256; ++v) h.record(v);
  EXPECT_EQ(h.percentile(100), 255);
  EXPECT_EQ(h.percentile(50), 127);
  EXPECT_EQ(h.min(), 0);
}

TEST(LoadgenHistogram, ClampsAboveHighestAndCountsIt) {
  Histogram h;
  h.record(Histogram::default_highest_us * 10);
  h.record(-5);
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.clamped(), 1);
  EXPECT_GE(h.max(), Histogram::default_highest_us);
  EXPECT_EQ(h.min(), 0);
}

TEST(LoadgenHistogram, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(7.0, 2.0);
  Histogram all, part_a, part_b, part_c;
  for (int i = 0; i < 90'000; ++i) {
    const auto v = std::llround(dist(rng));
    all.record(v);
    (i % 3 == 0 ? part_a : i % 3 == 1 ? part_b : part_c).record(v);
  }
  Histogram merged;
  merged.add(part_a);
  merged.add(part_b);
  merged.add(part_c);
  ASSERT_EQ(merged.count(), all.count());
  for (std::size_t i = 0; i < all.counts_length(); ++i) ASSERT_EQ(merged.count_at_index(i), all.count_at_index(i));
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(merged.percentile(p), all.percentile(p));
}

TEST(LoadgenHistogram, ResetEmpties) {
  Histogram h;
  h.record(1000);
  h.reset();
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.percentile(99), 0);
}

TEST(LoadgenHistogram, LayoutMatchesHdrHistogram) {
  // 1 us .. 60 s at 2 digits: 256 sub-buckets, 19 buckets -> (19 + 1) * 128 counts.
  Histogram h;
  EXPECT_EQ(h.counts_length(), 2560u);
  EXPECT_EQ(h.value_at_index(h.index_of(1000)), 1000);
  EXPECT_EQ(h.lowest_equivalent(1001), 1000);
  EXPECT_EQ(h.highest_equivalent(1000), 1003);
}

}  // namespace
