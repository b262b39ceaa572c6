// The V2 encoding round-trips, the interval log reads back what was written, and bad input is refused, not crashed on.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

#include "loadgen/hdr_log.hpp"

namespace {

using namespace tvt::loadgen;

Histogram random_histogram(unsigned seed, int samples) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(6.0, 2.0);
  Histogram h;
  for (int i = 0; i < samples; ++i) h.record(std::llround(dist(rng)));
  return h;
}

void expect_same_counts(const Histogram& a, const Histogram& b) {
  ASSERT_EQ(a.count(), b.count());
  ASSERT_EQ(a.counts_length(), b.counts_length());
  for (std::size_t i = 0; i < a.counts_length(); ++i) ASSERT_EQ(a.count_at_index(i), b.count_at_index(i)) << i;
}

TEST(LoadgenHdrLog, CompressedEncodingRoundTrips) {
  const Histogram h = random_histogram(1, 50'000);
  const auto decoded = hdr_decode_compressed(hdr_encode_compressed(h));
  ASSERT_TRUE(decoded);
  expect_same_counts(h, *decoded);
  EXPECT_EQ(decoded->max(), h.max());
}

TEST(LoadgenHdrLog, EmptyHistogramRoundTrips) {
  const auto decoded = hdr_decode_compressed(hdr_encode_compressed(Histogram{}));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->count(), 0);
}

TEST(LoadgenHdrLog, StandardCookieInBase64) {
  // Every standard V2 compressed histogram starts with "HISTF" once base64-encoded (cookie 0x1c849314).
  EXPECT_EQ(base64_encode(hdr_encode_compressed(random_histogram(2, 10))).substr(0, 5), "HISTF");
}

TEST(LoadgenHdrLog, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 20; ++n) {
    const auto back = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(n * 37));
  }
  EXPECT_FALSE(base64_decode("AB$C"));
}

TEST(LoadgenHdrLog, GarbageIsRefused) {
  EXPECT_FALSE(hdr_decode_compressed(""));
  EXPECT_FALSE(hdr_decode_compressed("garbage that is not a histogram"));
  std::string truncated = hdr_encode_compressed(random_histogram(3, 100));
  truncated.resize(truncated.size() / 2);
  EXPECT_FALSE(hdr_decode_compressed(truncated));
  std::string flipped = hdr_encode_compressed(random_histogram(3, 100));
  flipped[12] = static_cast<char>(flipped[12] ^ 0x55);
  EXPECT_FALSE(hdr_decode_compressed(flipped) && hdr_decode_compressed(flipped)->count() == 100);
}

TEST(LoadgenHdrLog, LogWritesAndReadsIntervals) {
  char path[] = "/tmp/loadgen_hdr_log_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  const Histogram a = random_histogram(4, 1000), b = random_histogram(5, 2000);
  {
    HdrLogWriter writer;
    ASSERT_TRUE(writer.open(path, 1700000000.25));
    writer.write_interval(0.0, 1.0, a);
    writer.write_interval(1.0, 1.0, b);
    ASSERT_TRUE(writer.close());
  }
  {  // a garbage line in the middle is skipped, not fatal
    std::FILE* f = std::fopen(path, "a");
    std::fputs("2.000,1.000,3.0,HISTFnotbase64!!\n", f);
    std::fclose(f);
  }
  std::size_t bad = 0;
  const auto log = hdr_log_read(path, bad);
  std::remove(path);
  ASSERT_TRUE(log);
  EXPECT_EQ(bad, 1u);
  EXPECT_NEAR(log->start_time_s, 1700000000.25, 1e-3);
  ASSERT_EQ(log->intervals.size(), 2u);
  EXPECT_DOUBLE_EQ(log->intervals[1].start_offset_s, 1.0);
  expect_same_counts(log->intervals[0].histogram, a);
  expect_same_counts(log->intervals[1].histogram, b);
}

}  // namespace
