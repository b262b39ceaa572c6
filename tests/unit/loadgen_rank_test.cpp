// Fleet ranks (issue 14): every global slot belongs to exactly one rank, shares differ by at most one (the first
// N % ranks ranks take the remainder), and the open-loop rate follows the slots, so no connection or send is lost.
#include <gtest/gtest.h>

#include <vector>

#include "loadgen/options.hpp"
#include "loadgen/schedule.hpp"

namespace tvt::loadgen {
namespace {

TEST(RankSlots, PartitionTheSlotsWithNothingLost) {
  for (const std::uint32_t n : {1u, 2u, 7u, 1000u, 40'000u, 40'003u}) {
    for (const std::uint32_t ranks : {1u, 2u, 3u, 4u, 7u}) {
      if (ranks > n) continue;
      Options o;
      o.connections = n;
      o.ranks = ranks;
      std::uint32_t next = 0, smallest = n, largest = 0;
      for (std::uint32_t r = 0; r < ranks; ++r) {
        o.rank = r;
        const SlotRange s = rank_slots(o);
        EXPECT_EQ(s.begin, next) << n << " " << ranks << " " << r;
        next = s.end;
        smallest = std::min(smallest, s.size());
        largest = std::max(largest, s.size());
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1u);
    }
  }
}

TEST(RankSlots, TheRanksSchedulesAreTheSingleRunsSchedule) {
  // Slot s's k-th send is due at the same instant whichever process owns s (uniform: s/R + k·N/R; poisson: drawn
  // from (seed, slot)); two ranks together send exactly what one process would.
  const std::uint32_t n = 10;
  const double rate = 1000;
  const std::int64_t span = 1'000'000'000;
  for (const Arrivals a : {Arrivals::uniform, Arrivals::poisson}) {
    const ArrivalSchedule whole(a, rate, n, 0, n, span, 7);
    const ArrivalSchedule first(a, rate, n, 0, 5, span, 7), second(a, rate, n, 5, n, span, 7);
    for (std::uint32_t s = 0; s < n; ++s)
      for (std::uint64_t k = 0; k < 3; ++k)
        EXPECT_EQ((s < 5 ? first : second).due(s, k), whole.due(s, k)) << s << " " << k;
  }
}

}  // namespace
}  // namespace tvt::loadgen
