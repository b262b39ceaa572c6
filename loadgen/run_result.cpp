#include "loadgen/run_result.hpp"

#include <algorithm>
#include <charconv>

#include "loadgen/hdr_log.hpp"

namespace tvt::loadgen {
namespace {

enum class Combine { sum, min_nonzero, max };
struct CounterField {
  std::string_view name;
  std::int64_t Counters::*member;
  Combine combine;
};
constexpr CounterField counter_fields[] = {
    {"requests", &Counters::requests, Combine::sum},
    {"errors_connect", &Counters::errors_connect, Combine::sum},
    {"errors_reset", &Counters::errors_reset, Combine::sum},
    {"errors_timeout", &Counters::errors_timeout, Combine::sum},
    {"errors_bad_reply", &Counters::errors_bad_reply, Combine::sum},
    {"errors_closed", &Counters::errors_closed, Combine::sum},
    {"established", &Counters::established, Combine::sum},
    {"open_at_end", &Counters::open_at_end, Combine::sum},
    {"unanswered_at_end", &Counters::unanswered_at_end, Combine::sum},
    {"scheduled_sends", &Counters::scheduled_sends, Combine::sum},
    {"dropped_sends", &Counters::dropped_sends, Combine::sum},
    {"posts_blocked", &Counters::posts_blocked, Combine::sum},
    {"late_sends", &Counters::late_sends, Combine::sum},
    {"worst_lateness_ns", &Counters::worst_lateness_ns, Combine::max},
    {"chat_sent", &Counters::chat_sent, Combine::sum},
    {"chat_expected", &Counters::chat_expected, Combine::sum},
    {"deliveries", &Counters::deliveries, Combine::sum},
    {"deliveries_in_window", &Counters::deliveries_in_window, Combine::sum},
    {"duplicated", &Counters::duplicated, Combine::sum},
    {"dropped_by_policy", &Counters::dropped_by_policy, Combine::sum},
    {"connect_start_ns", &Counters::connect_start_ns, Combine::min_nonzero},
    {"all_ready_ns", &Counters::all_ready_ns, Combine::max},
    {"spin_ns", &Counters::spin_ns, Combine::sum},
};

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

void RunResult::merge(const RunResult& other) {
  for (const auto& f : counter_fields) {
    auto& mine = counters.*f.member;
    const auto theirs = other.counters.*f.member;
    switch (f.combine) {
      case Combine::sum: mine += theirs; break;
      case Combine::max: mine = std::max(mine, theirs); break;
      case Combine::min_nonzero: mine = mine == 0 ? theirs : theirs == 0 ? mine : std::min(mine, theirs); break;
    }
  }
  for (std::size_t k = 0; k < hist_kind_count; ++k) {
    auto& mine = intervals[k];
    const auto& theirs = other.intervals[k];
    if (mine.size() < theirs.size()) mine.resize(theirs.size());
    for (std::size_t i = 0; i < theirs.size(); ++i) mine[i].add(theirs[i]);
  }
  if (interval_counts.size() < other.interval_counts.size()) interval_counts.resize(other.interval_counts.size());
  for (std::size_t i = 0; i < other.interval_counts.size(); ++i) {
    interval_counts[i].requests += other.interval_counts[i].requests;
    interval_counts[i].errors += other.interval_counts[i].errors;
  }
}

Histogram RunResult::total(HistKind kind) const {
  Histogram sum;
  for (const auto& h : of(kind)) sum.add(h);
  return sum;
}

std::string RunResult::serialize() const {
  std::string out;
  for (const auto& f : counter_fields)
    out.append("counter ").append(f.name).append(" ").append(std::to_string(counters.*f.member)).append("\n");
  for (std::size_t i = 0; i < interval_counts.size(); ++i)
    out.append("interval ")
        .append(std::to_string(i))
        .append(" ")
        .append(std::to_string(interval_counts[i].requests))
        .append(" ")
        .append(std::to_string(interval_counts[i].errors))
        .append("\n");
  for (std::size_t k = 0; k < hist_kind_count; ++k)
    for (std::size_t i = 0; i < intervals[k].size(); ++i)
      if (intervals[k][i].count() > 0)
        out.append("hist ")
            .append(std::to_string(k))
            .append(" ")
            .append(std::to_string(i))
            .append(" ")
            .append(std::to_string(intervals[k].size()))
            .append(" ")
            .append(base64_encode(hdr_encode_compressed(intervals[k][i])))
            .append("\n");
  out.append("end\n");
  return out;
}

std::optional<RunResult> RunResult::parse(std::string_view text) {
  RunResult r;
  bool ended = false;
  constexpr std::size_t max_intervals = 1 << 20;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::vector<std::string_view> words;
    for (std::size_t pos = 0; pos <= line.size();) {
      const auto sp = std::min(line.find(' ', pos), line.size());
      words.push_back(line.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (words[0] == "end") {
      ended = true;
      break;
    }
    if (words[0] == "counter" && words.size() == 3) {
      const auto v = parse_int(words[2]);
      if (!v) return std::nullopt;
      for (const auto& f : counter_fields)
        if (f.name == words[1]) r.counters.*f.member = *v;
    } else if (words[0] == "interval" && words.size() == 4) {
      const auto i = parse_int(words[1]), req = parse_int(words[2]), err = parse_int(words[3]);
      if (!i || !req || !err || *i < 0 || static_cast<std::size_t>(*i) >= max_intervals) return std::nullopt;
      if (r.interval_counts.size() <= static_cast<std::size_t>(*i)) r.interval_counts.resize(*i + 1);
      r.interval_counts[*i] = {*req, *err};
    } else if (words[0] == "hist" && words.size() == 5) {
      const auto k = parse_int(words[1]), i = parse_int(words[2]), n = parse_int(words[3]);
      if (!k || !i || !n || *k < 0 || *k >= static_cast<std::int64_t>(hist_kind_count) || *i < 0 || *n <= *i ||
          static_cast<std::size_t>(*n) > max_intervals)
        return std::nullopt;
      const auto bytes = base64_decode(words[4]);
      if (!bytes) return std::nullopt;
      auto h = hdr_decode_compressed(*bytes);
      if (!h) return std::nullopt;
      auto& v = r.intervals[*k];
      if (v.size() < static_cast<std::size_t>(*n)) v.resize(*n);
      v[*i].add(*h);
    } else {
      return std::nullopt;
    }
  }
  if (!ended) return std::nullopt;
  return r;
}

}  // namespace tvt::loadgen
