// The protocol sessions, byte by byte: every case is fed whole, split at every byte boundary, and one byte at a time,
// and must give the same replies and verdict each way.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/workload.hpp"

namespace tvt::protocol {
namespace {

struct Outcome {
  std::string out;
  Verdict verdict = Verdict::keep_open;
  bool operator==(const Outcome&) const = default;
};

// Feeds `chunks` in order, stopping at the first close verdict (as a server would).
template <class MakeSession>
Outcome feed(MakeSession make, const std::vector<std::string_view>& chunks) {
  auto session = make();
  Outcome o;
  for (auto c : chunks) {
    o.verdict = session.consume(c, o.out);
    if (o.verdict == Verdict::close) break;
  }
  return o;
}

// Checks that every way of splitting `input` gives `expected`.
template <class MakeSession>
void expect_split_invariant(MakeSession make, std::string_view input, const Outcome& expected) {
  EXPECT_EQ(feed(make, {input}), expected) << "whole";
  for (std::size_t k = 0; k <= input.size(); ++k)
    ASSERT_EQ(feed(make, {input.substr(0, k), input.substr(k)}), expected) << "split at " << k;
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  EXPECT_EQ(feed(make, bytes), expected) << "byte by byte";
}

Limits small_limits() {
  Limits l;
  l.max_line_bytes = 16;
  l.max_header_bytes = 256;
  l.max_header_fields = 4;
  return l;
}

// ---- echo ----

TEST(Echo, EchoesEachLine) {
  const Limits limits = small_limits();
  auto make = [&] { return EchoSession(limits); };
  expect_split_invariant(make, "hello\nworld\n", {"hello\nworld\n", Verdict::keep_open});
}

TEST(Echo, HoldsAnUnfinishedLineUntilItsNewline) {
  const Limits limits = small_limits();
  EchoSession s(limits);
  std::string out;
  EXPECT_EQ(s.consume("abc", out), Verdict::keep_open);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(s.has_partial());
  EXPECT_EQ(s.consume("d\nef", out), Verdict::keep_open);
  EXPECT_EQ(out, "abcd\n");
  EXPECT_TRUE(s.has_partial());
}

TEST(Echo, LineAtTheLimitPassesAndOneOverCloses) {
  const Limits limits = small_limits();
  auto make = [&] { return EchoSession(limits); };
  const std::string at_limit(16, 'x');
  expect_split_invariant(make, at_limit + "\n", {at_limit + "\n", Verdict::keep_open});
  const std::string over(17, 'x');
  expect_split_invariant(make, "ok\n" + over + "\n", {"ok\n", Verdict::close});
  EchoSession s(limits);
  std::string out;
  EXPECT_EQ(s.consume(over, out), Verdict::close);
  EXPECT_EQ(s.close_reason(), "echo line over the limit");
}

TEST(Echo, EmptyLinesAreEchoed) {
  const Limits limits = small_limits();
  expect_split_invariant([&] { return EchoSession(limits); }, "\n\n", {"\n\n", Verdict::keep_open});
}

// ---- http ----

class Http : public ::testing::Test {
 protected:
  Limits limits = small_limits();
  HttpReplies replies{limits};
  auto make() {
    return [this] { return HttpSession(replies); };
  }
};

constexpr std::string_view get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

TEST_F(Http, AnswersGetWithTheFixedBody) {
  Outcome o = feed(make(), {get});
  EXPECT_EQ(o.verdict, Verdict::keep_open);
  EXPECT_EQ(o.out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!");
  expect_split_invariant(make(), get, o);
}

TEST_F(Http, HeadGetsHeadersWithoutBody) {
  Outcome o = feed(make(), {"HEAD / HTTP/1.1\r\n\r\n"});
  EXPECT_EQ(o.out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n");
  EXPECT_EQ(o.verdict, Verdict::keep_open);
}

TEST_F(Http, BodySizeIsConfigurable) {
  Limits l = limits;
  l.http_body_bytes = 30;
  HttpReplies r(l);
  EXPECT_NE(r.ok.find("Content-Length: 30\r\n\r\nHello, World!Hello, World!Hell"), std::string::npos);
}

TEST_F(Http, PipelinedRequestsAreAnsweredInOrder) {
  const std::string in = std::string(get) + "HEAD /a HTTP/1.1\r\n\r\n" + std::string(get);
  const Outcome o{replies.ok + replies.head_ok + replies.ok, Verdict::keep_open};
  expect_split_invariant(make(), in, o);
}

TEST_F(Http, ConnectionCloseIsHonoured) {
  const std::string in = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n" + std::string(get);
  expect_split_invariant(make(), in, {replies.ok_close, Verdict::close});
}

TEST_F(Http, Http10ClosesUnlessKeepAliveAsked) {
  expect_split_invariant(make(), "GET / HTTP/1.0\r\n\r\n", {replies.ok_close, Verdict::close});
  expect_split_invariant(make(), "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                         {replies.ok_keep_alive, Verdict::keep_open});
}

TEST_F(Http, BareLineFeedsAreAccepted) {
  expect_split_invariant(make(), "GET / HTTP/1.1\nHost: x\n\n", {replies.ok, Verdict::keep_open});
}

TEST_F(Http, MalformedRequestsGet400AndClose) {
  for (std::string_view bad : {"GARBAGE\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n",
                               "GET / HTTX/1.1\r\n\r\n", "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
                               "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n"}) {
    SCOPED_TRACE(bad);
    expect_split_invariant(make(), bad, {replies.bad_request, Verdict::close});
  }
}

TEST_F(Http, OtherMethodsGet405) {
  expect_split_invariant(make(), "POST / HTTP/1.1\r\n\r\n", {replies.method_not_allowed, Verdict::close});
}

TEST_F(Http, UnsupportedVersionGets505) {
  expect_split_invariant(make(), "GET / HTTP/2.0\r\n\r\n", {replies.version_not_supported, Verdict::close});
}

TEST_F(Http, TransferEncodingGets501) {
  expect_split_invariant(make(), "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                         {replies.not_implemented, Verdict::close});
}

TEST_F(Http, TooManyHeaderFieldsGet431) {
  std::string in = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 5; ++i) in += "X-" + std::to_string(i) + ": v\r\n";
  expect_split_invariant(make(), in + "\r\n", {replies.header_too_large, Verdict::close});
  std::string at_limit = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 4; ++i) at_limit += "X-" + std::to_string(i) + ": v\r\n";
  expect_split_invariant(make(), at_limit + "\r\n", {replies.ok, Verdict::keep_open});
}

TEST_F(Http, OversizedHeaderSectionGets431EvenWithoutItsEnd) {
  const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(300, 'a');  // no end of headers yet
  expect_split_invariant(make(), big, {replies.header_too_large, Verdict::close});
}

TEST_F(Http, RequestBodyIsSkipped) {
  const std::string in = "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + std::string(get);
  expect_split_invariant(make(), in, {replies.ok + replies.ok, Verdict::keep_open});
}

TEST_F(Http, IdleSessionHoldsNothing) {
  auto s = make()();
  std::string out;
  s.consume("GET / HT", out);
  EXPECT_TRUE(s.has_partial());
  s.consume("TP/1.1\r\n\r\n", out);
  EXPECT_FALSE(s.has_partial());
  EXPECT_EQ(out, replies.ok);
}

TEST(Workload, NamesRoundTrip) {
  for (auto w : all_workloads) EXPECT_EQ(parse_workload(name(w)), w);
  EXPECT_FALSE(parse_workload("nope"));
}

// ---- added work (server --added-work, the knob that tests the regression gate) ----

// The knob adds CPU work only: every workload answers the same bytes with the same verdicts, however split.
TEST(AddedWork, LeavesEveryReplyUnchanged) {
  Limits plain = small_limits();
  Limits slowed = plain;
  slowed.added_work = 1000;
  const HttpReplies plain_http(plain), slowed_http(slowed);
  const std::string http_in = std::string(get) + "HEAD /a HTTP/1.1\r\n\r\n";
  expect_split_invariant([&] { return HttpSession(slowed_http); }, http_in,
                         feed([&] { return HttpSession(plain_http); }, {http_in}));
  expect_split_invariant([&] { return EchoSession(slowed); }, "a\nbc\n",
                         feed([&] { return EchoSession(plain); }, {"a\nbc\n"}));
  expect_split_invariant([&] { return ComputeSession(slowed); }, "1\nx\n",
                         feed([&] { return ComputeSession(plain); }, {"1\nx\n"}));
}

}  // namespace
}  // namespace tvt::protocol
