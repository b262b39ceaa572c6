// The client codecs' verifiers, fed every reply split at every byte boundary, and the run-result serialization.
#include <gtest/gtest.h>

#include <string>

#include "loadgen/codec_compute.hpp"
#include "loadgen/codec_echo.hpp"
#include "loadgen/codec_http.hpp"
#include "loadgen/run_result.hpp"
#include "protocol/compute.hpp"

namespace {

using namespace tvt::loadgen;

// Feeds `reply` in two pieces split at `at`; returns the final status and total bytes consumed.
template <class V>
FeedResult feed_split(V& v, const std::string& reply, std::size_t at) {
  FeedResult first = v.feed(reply.data(), at);
  if (first.status != ReplyStatus::need_more) return first;
  FeedResult second = v.feed(reply.data() + at, reply.size() - at);
  second.consumed += first.consumed;
  return second;
}

const std::string ok_reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

TEST(LoadgenCodec, HttpReplyVerifiesAtEverySplit) {
  for (std::size_t at = 0; at <= ok_reply.size(); ++at) {
    HttpReplyVerifier v;
    const auto r = feed_split(v, ok_reply, at);
    ASSERT_EQ(r.status, ReplyStatus::complete) << at;
    ASSERT_EQ(r.consumed, ok_reply.size()) << at;
  }
}

TEST(LoadgenCodec, HttpReplyEndsExactlyWhereTheBodyEnds) {
  HttpReplyVerifier v;
  const std::string two = ok_reply + ok_reply;
  const auto r = v.feed(two.data(), two.size());
  EXPECT_EQ(r.status, ReplyStatus::complete);
  EXPECT_EQ(r.consumed, ok_reply.size());
  const auto r2 = v.feed(two.data() + r.consumed, two.size() - r.consumed);  // the verifier reset itself
  EXPECT_EQ(r2.status, ReplyStatus::complete);
}

TEST(LoadgenCodec, HttpReplyCaseInsensitiveHeaderAndEmptyBody) {
  const std::string reply = "HTTP/1.1 200 OK\r\ncontent-LENGTH:  0 \r\nX: y\r\n\r\n";
  for (std::size_t at = 0; at <= reply.size(); ++at) {
    HttpReplyVerifier v;
    ASSERT_EQ(feed_split(v, reply, at).status, ReplyStatus::complete) << at;
  }
}

TEST(LoadgenCodec, HttpBadRepliesAreRefusedAtEverySplit) {
  for (const std::string& bad : {
           std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"),  // no Content-Length
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nA"),
           std::string("garbage\n"),
       }) {
    for (std::size_t at = 0; at <= bad.size(); ++at) {
      HttpReplyVerifier v;
      EXPECT_EQ(feed_split(v, bad, at).status, ReplyStatus::bad) << bad << " split at " << at;
    }
  }
}

TEST(LoadgenCodec, HttpOversizedHeaderIsRefused) {
  HttpReplyVerifier v;
  const std::string reply = "HTTP/1.1 200 OK\r\nX: " + std::string(10'000, 'a') + "\r\n";
  EXPECT_EQ(v.feed(reply.data(), reply.size()).status, ReplyStatus::bad);
}

TEST(LoadgenCodec, EchoLinesVaryAndVerifyAtEverySplit) {
  char a[echo_line_max_bytes], b[echo_line_max_bytes];
  const std::size_t la = echo_make_line(a, 7, 1), lb = echo_make_line(b, 7, 2);
  EXPECT_NE(std::string(a, la), std::string(b, lb));
  EXPECT_EQ(a[la - 1], '\n');
  EXPECT_GE(la, 8u);
  const std::string reply(a, la);
  for (std::size_t at = 0; at <= reply.size(); ++at) {
    EchoReplyVerifier v;
    v.expect(a, la);
    const auto r = feed_split(v, reply, at);
    ASSERT_EQ(r.status, ReplyStatus::complete) << at;
    ASSERT_EQ(r.consumed, la);
  }
  EchoReplyVerifier v;
  v.expect(a, la);
  EXPECT_EQ(v.feed(b, lb).status, ReplyStatus::bad);  // another request's line
}

TEST(LoadgenCodec, ComputeRepliesAreTheServersDigest) {
  char expected[compute_reply_bytes];
  compute_expected_reply(3, expected);
  char hex[32];
  std::snprintf(hex, sizeof hex, "%016llx\n", static_cast<unsigned long long>(tvt::protocol::compute_digest(3)));
  const std::string reply(hex);
  ASSERT_EQ(std::string(expected, compute_reply_bytes), reply);
  for (std::size_t at = 0; at <= reply.size(); ++at) {
    ComputeReplyVerifier v;
    v.expect(expected);
    ASSERT_EQ(feed_split(v, reply, at).status, ReplyStatus::complete) << at;
  }
  ComputeReplyVerifier v;
  v.expect(expected);
  EXPECT_EQ(v.feed("ERR bad\n", 8).status, ReplyStatus::bad);
  char request[16];
  EXPECT_EQ(std::string(request, compute_make_request(request, 256)), "256\n");
}

TEST(LoadgenCodec, RunResultSerializesAndMergesExactly) {
  RunResult a, b;
  a.counters.requests = 10;
  a.counters.errors_reset = 2;
  a.counters.connect_start_ns = 500;
  a.counters.all_ready_ns = 900;
  b.counters.requests = 5;
  b.counters.connect_start_ns = 400;
  b.counters.all_ready_ns = 1000;
  a.intervals[0].resize(2);
  b.intervals[0].resize(3);
  a.intervals[0][1].record(100);
  b.intervals[0][2].record(2000);
  a.interval_counts = {{1, 0}, {2, 1}};
  b.interval_counts = {{3, 0}, {0, 0}, {4, 0}};
  const auto back = RunResult::parse(a.serialize());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->counters.requests, 10);
  EXPECT_EQ(back->total(HistKind::main).count(), 1);
  RunResult merged = *back;
  merged.merge(*RunResult::parse(b.serialize()));
  EXPECT_EQ(merged.counters.requests, 15);
  EXPECT_EQ(merged.counters.errors(), 2);
  EXPECT_EQ(merged.counters.connect_start_ns, 400);
  EXPECT_EQ(merged.counters.all_ready_ns, 1000);
  EXPECT_EQ(merged.total(HistKind::main).count(), 2);
  ASSERT_EQ(merged.interval_counts.size(), 3u);
  EXPECT_EQ(merged.interval_counts[0].requests, 4);
  EXPECT_EQ(merged.interval_counts[1].errors, 1);
  EXPECT_FALSE(RunResult::parse("counter requests 1\n"));  // no end line: a worker that died mid-write
  EXPECT_FALSE(RunResult::parse("hist 9 0 1 AAAA\nend\n"));
}

}  // namespace
