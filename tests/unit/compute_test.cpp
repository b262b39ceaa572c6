// The compute protocol, sans-I/O: request parsing at every byte boundary, the digest's known values, and errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/compute.hpp"
#include "protocol/workload.hpp"

namespace tvt::protocol {
namespace {

struct Outcome {
  std::string out;
  Verdict verdict = Verdict::keep_open;
  bool operator==(const Outcome&) const = default;
};

Outcome feed(const Limits& limits, const std::vector<std::string_view>& chunks) {
  ComputeSession session(limits);
  Outcome o;
  for (auto c : chunks) {
    o.verdict = session.consume(c, o.out);
    if (o.verdict == Verdict::close) break;
  }
  return o;
}

void expect_split_invariant(const Limits& limits, std::string_view input, const Outcome& expected) {
  EXPECT_EQ(feed(limits, {input}), expected) << "whole";
  for (std::size_t k = 0; k <= input.size(); ++k)
    ASSERT_EQ(feed(limits, {input.substr(0, k), input.substr(k)}), expected) << "split at " << k;
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  EXPECT_EQ(feed(limits, bytes), expected) << "byte by byte";
}

std::string hex(std::uint64_t d) {
  std::string s;
  append_digest(s, d);
  return s;
}

// FNV-1a 64 written out independently, over the documented pattern, to pin the digest down.
std::uint64_t reference_digest(std::uint32_t kib) {
  std::uint64_t h = 14695981039346656037ULL;
  for (std::uint32_t k = 0; k < kib; ++k)
    for (unsigned i = 0; i < 1024; ++i) {
      h ^= (i * 167 + 13) & 0xff;
      h *= 1099511628211ULL;
    }
  return h;
}

// The vectors every language's digest is checked against (the peers' own tests read the same file).
TEST(ComputeDigest, MatchesTheSharedTestVectors) {
  std::ifstream vectors(TVT_COMPUTE_VECTORS);
  ASSERT_TRUE(vectors) << TVT_COMPUTE_VECTORS;
  std::string line;
  int checked = 0;
  while (std::getline(vectors, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::uint32_t kib = 0;
    std::string digest;
    ASSERT_TRUE(fields >> kib >> digest) << "malformed vector line: " << line;
    EXPECT_EQ(hex(compute_digest(kib)), digest + "\n") << "kib " << kib;
    ++checked;
  }
  EXPECT_GE(checked, 10) << "too few vectors in " << TVT_COMPUTE_VECTORS;
}

TEST(ComputeDigest, IsFnv1aOverThePattern) {
  EXPECT_EQ(compute_digest(0), 0xcbf29ce484222325ULL);
  for (std::uint32_t kib : {1u, 2u, 7u, 100u}) EXPECT_EQ(compute_digest(kib), reference_digest(kib)) << kib;
  EXPECT_NE(compute_digest(1), compute_digest(2));
}

TEST(ComputeDigest, HexIsSixteenLowercaseDigits) {
  EXPECT_EQ(hex(0xcbf29ce484222325ULL), "cbf29ce484222325\n");
  EXPECT_EQ(hex(0x1), "0000000000000001\n");
}

TEST(ComputeParse, Values) {
  EXPECT_EQ(parse_compute_line("0").kib, 0u);
  EXPECT_EQ(parse_compute_line("65536").kib, 65536u);
  EXPECT_EQ(parse_compute_line("0007").kib, 7u);
  for (std::string_view bad : {"", "65537", "99999999999", "-1", "+1", " 1", "1 ", "1\r", "0x10", "abc"})
    EXPECT_FALSE(parse_compute_line(bad).kib) << bad;
}

TEST(ComputeSession, AnswersEachLineAtEveryByteBoundary) {
  const Limits limits;
  expect_split_invariant(limits, "1\n0\n2\n",
                         {hex(compute_digest(1)) + hex(compute_digest(0)) + hex(compute_digest(2)), Verdict::keep_open});
}

TEST(ComputeSession, MalformedGetsErrAndStaysOpen) {
  const Limits limits;
  expect_split_invariant(limits, "x\n70000\n1\n",
                         {"ERR kib must be decimal digits\nERR kib out of range\n" + hex(compute_digest(1)),
                          Verdict::keep_open});
}

TEST(ComputeSession, OverlongLineCloses) {
  Limits limits;
  limits.max_line_bytes = 8;
  expect_split_invariant(limits, "1\n123456789\n", {hex(compute_digest(1)), Verdict::close});
  ComputeSession s(limits);
  std::string out;
  EXPECT_EQ(s.consume("123456789", out), Verdict::close);
  EXPECT_EQ(s.close_reason(), "compute line over the limit");
}

TEST(ComputeWorkload, FactoryMakesComputeSessions) {
  const WorkloadConfig config(Workload::compute, Limits{});
  const std::string out = with_session_factory(config, [](auto make) {
    auto s = make();
    std::string o;
    s.consume("3\n", o);
    return o;
  });
  EXPECT_EQ(out, hex(compute_digest(3)));
  EXPECT_EQ(parse_workload("chat"), Workload::chat);
  EXPECT_EQ(parse_workload("compute"), Workload::compute);
}

}  // namespace
}  // namespace tvt::protocol
