// The open-loop send schedule: uniform dues as wrk2 spaces them, Poisson dues that are reproducible from the seed
// and pass a Kolmogorov–Smirnov test (while evenly spaced gaps fail it), counting dues in a window, and late sends.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "loadgen/schedule.hpp"

namespace {

using namespace tvt::loadgen;

constexpr std::int64_t s = 1'000'000'000;

Histogram gaps_of(const ArrivalSchedule& schedule, std::uint32_t slots) {
  Histogram gaps;
  for (std::uint32_t slot = 0; slot < slots; ++slot) {
    for (std::uint64_t k = 1; schedule.due(slot, k) != ArrivalSchedule::never; ++k) {
      const double gap = static_cast<double>(schedule.due(slot, k) - schedule.due(slot, k - 1));
      gaps.record(static_cast<std::int64_t>(gap * gap_units_per_mean / schedule.mean_gap_ns()));
    }
  }
  return gaps;
}

TEST(LoadgenSchedule, LatenessCountsSendsDueOrLeavingInTheWindow) {
  // Window [10 s, 20 s).
  EXPECT_TRUE(lateness_in_window(12 * s, 12 * s + 5, 10 * s, 20 * s));   // due and sent in it
  EXPECT_TRUE(lateness_in_window(19 * s, 21 * s, 10 * s, 20 * s));       // due in it, left after it
  EXPECT_TRUE(lateness_in_window(3 * s, 15 * s, 10 * s, 20 * s));        // due in the warm-up, left in it: 12 s late
  EXPECT_FALSE(lateness_in_window(3 * s, 9 * s, 10 * s, 20 * s));        // all of it in the warm-up
  EXPECT_FALSE(lateness_in_window(20 * s, 20 * s, 10 * s, 20 * s));      // the window's end is not in it
}

TEST(LoadgenSchedule, UniformDuesInterleaveConnectionsEvenly) {
  // 4 connections at 1,000/s: slot s is due at s ms, then every 4 ms.
  const ArrivalSchedule schedule(Arrivals::uniform, 1000, 4, 0, 4, 10 * s, 1);
  EXPECT_EQ(schedule.due(0, 0), 0);
  EXPECT_EQ(schedule.due(3, 0), 3'000'000);
  EXPECT_EQ(schedule.due(1, 2), 9'000'000);
  EXPECT_EQ(schedule.first_at_or_after(1, 9'000'000), 2u);
  EXPECT_EQ(schedule.first_at_or_after(1, 9'000'001), 3u);
  // [0, 1 s) holds 250 dues of slot 2; of those from index 100 on, 150.
  EXPECT_EQ(schedule.count_due(2, 0, 0, s), 250);
  EXPECT_EQ(schedule.count_due(2, 100, 0, s), 150);
  EXPECT_EQ(schedule.count_due(2, 0, s, s), 0);
}

TEST(LoadgenSchedule, PoissonIsReproducibleAndHasTheAskedRate) {
  const ArrivalSchedule a(Arrivals::poisson, 20'000, 100, 0, 100, 10 * s, 7);
  const ArrivalSchedule b(Arrivals::poisson, 20'000, 100, 40, 60, 10 * s, 7);  // another thread's share
  const ArrivalSchedule c(Arrivals::poisson, 20'000, 100, 0, 100, 10 * s, 8);
  EXPECT_EQ(a.due(42, 17), b.due(42, 17));  // the same seed gives every process and thread the same dues
  EXPECT_NE(a.due(42, 17), c.due(42, 17));
  std::int64_t total = 0;
  for (std::uint32_t slot = 0; slot < 100; ++slot) {
    total += a.count_due(slot, 0, 0, 10 * s);
    for (std::uint64_t k = 1; a.due(slot, k) != ArrivalSchedule::never; ++k) ASSERT_GT(a.due(slot, k), a.due(slot, k - 1));
  }
  // 200,000 expected; a Poisson count's standard deviation is sqrt(200,000) = 447.
  EXPECT_NEAR(static_cast<double>(total), 200'000, 5 * 447);
  EXPECT_EQ(a.due(0, 1'000'000), ArrivalSchedule::never);  // past the precomputed span
}

TEST(LoadgenSchedule, PoissonGapsPassTheExponentialFitAndEvenGapsFailIt) {
  const ArrivalSchedule poisson(Arrivals::poisson, 20'000, 100, 0, 100, 5 * s, 3);
  const FitResult good = exponential_fit(gaps_of(poisson, 100));
  EXPECT_GT(good.n, 90'000);
  EXPECT_LT(good.d, 0.01);
  EXPECT_GT(good.p, 0.01);

  Histogram even;
  even.record_n(static_cast<std::int64_t>(gap_units_per_mean), 1000);  // every gap exactly the mean
  const FitResult bad = exponential_fit(even);
  EXPECT_GT(bad.d, 0.3);
  EXPECT_LT(bad.p, 1e-9);
  EXPECT_EQ(exponential_fit(Histogram{}).p, -1);
}

TEST(LoadgenSchedule, KolmogorovPValueMatchesTheTable) {
  // The 5 % critical value of D is 1.358 / sqrt(n) for large n; 1 % is 1.628 / sqrt(n).
  EXPECT_NEAR(ks_p_value(1.358 / std::sqrt(1e6), 1'000'000), 0.05, 0.002);
  EXPECT_NEAR(ks_p_value(1.628 / std::sqrt(1e6), 1'000'000), 0.01, 0.001);
  EXPECT_EQ(ks_p_value(0, 100), 1.0);
  EXPECT_LT(ks_p_value(0.5, 100), 1e-9);
}

TEST(LoadgenSchedule, LatenessCountsSendsPastTheThresholdAndKeepsTheWorst) {
  LatenessTally tally;
  tally.threshold_ns = 50'000;
  tally.add(1'000'000, 1'000'000);  // on time
  tally.add(2'000'000, 2'050'000);  // exactly at the threshold: not late
  tally.add(3'000'000, 3'050'001);  // late
  tally.add(4'000'000, 4'900'000);  // late, the worst
  tally.add(5'000'000, 5'010'000);
  EXPECT_EQ(tally.late, 2);
  EXPECT_EQ(tally.worst_ns, 900'000);
}

}  // namespace
