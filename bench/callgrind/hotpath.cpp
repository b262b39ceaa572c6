// hotpath: a fixed amount of hot-path work per model, for instruction counts under valgrind --tool=callgrind (the CI
// gate compares them with the baseline; counts do not depend on the machine's noise, wall times would).
//   hotpath --model M --case spawn    spawn one empty unit and join it, 10,000 times
//   hotpath --model M --case switch   50,000 ping-pong round trips between two units on one thread = 100,000 switches
//   hotpath --model M --case yield    100,000 yields between two units on one thread (50,000 each; one-thread models)
//   hotpath --model M --case await    100,000 awaits of a task that completes at once (coro-local: coro::Task<int>
//                                     in block_on; raw-coroutine: its floor, models/raw_lazy_task.hpp)
//   hotpath --model protocol --case parse   10,000 pipelined HTTP GETs through one tvt::protocol::HttpSession
//   hotpath --list                    the valid "model case" pairs, one per line
// Start-up noise is kept out: each case runs once small as a warm-up (lazy initialisation, allocator arenas), then
// instrumentation starts (counters zeroed), the measured work runs, and instrumentation stops before exit. Outside
// valgrind the client requests are no-ops. Deterministic: same binary, same arguments -> same instruction count.
// `spawn` is sequential for every model: valgrind runs at most 500 threads, and a sequential spawn+join is the path
// a server takes per connection anyway.
#include <valgrind/callgrind.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "coro/block_on.hpp"
#include "coro/task.hpp"
#include "models/all_models.hpp"
#include "models/raw_lazy_task.hpp"
#include "protocol/http.hpp"
#include "protocol/limits.hpp"

namespace {

using namespace tvt::micro;

constexpr std::size_t spawn_units = 10'000;
constexpr std::size_t switch_round_trips = 50'000;
constexpr std::size_t yields_each = 50'000;  // two units
constexpr std::size_t ready_awaits = 100'000;
constexpr std::size_t parse_requests = 10'000;
constexpr std::size_t read_chunk_bytes = 4096;  // what one read() from a socket might deliver

// Works both ways valgrind may be started: with --instr-atstart=no (bench_all) counting begins at START; with the
// default, ZERO_STATS drops what start-up counted. STOP keeps the exit path out either way.
void start_counting() {
  CALLGRIND_START_INSTRUMENTATION;
  CALLGRIND_ZERO_STATS;
}
void stop_counting() { CALLGRIND_STOP_INSTRUMENTATION; }

// Models whose switch case is deterministic under valgrind; threads' futex handoff depends on who sleeps first.
template <class M>
constexpr bool switch_is_deterministic = M::name != ThreadsModel::name;
// Yields on a pool would depend on which worker picks a unit up: one-thread models only (the issue 18 figures).
template <class M>
constexpr bool yield_is_deterministic = !M::supports_cross_thread;

template <class M>
int run_case(std::string_view case_name) {
  if (case_name == "spawn") {
    typename M::Runtime runtime;
    Ops<M>::spawn_join_sequential(runtime, 100);
    start_counting();
    Ops<M>::spawn_join_sequential(runtime, spawn_units);
    stop_counting();
    return 0;
  }
  if (case_name == "switch" && switch_is_deterministic<M>) {
    typename M::Runtime runtime;
    Ops<M>::template ping_pong<Placement::same_thread>(runtime, 100);
    start_counting();
    Ops<M>::template ping_pong<Placement::same_thread>(runtime, switch_round_trips);
    stop_counting();
    return 0;
  }
  if (case_name == "yield" && yield_is_deterministic<M>) {
    typename M::Runtime runtime;
    Ops<M>::yield_ring(runtime, 2, 100);
    start_counting();
    Ops<M>::yield_ring(runtime, 2, yields_each);
    stop_counting();
    return 0;
  }
  std::fprintf(stderr, "hotpath: case '%.*s' is not available for model '%.*s' (see --list)\n",
               static_cast<int>(case_name.size()), case_name.data(), static_cast<int>(M::name.size()),
               M::name.data());
  return 2;
}

// The models with an `await` case: our task type and its floor (the others have no lazy task type of their own).
template <class M>
constexpr bool await_is_counted = M::name == RawCoroutineModel::name || M::name == CoroLocalModel::name;

tvt::coro::Task<int> coro_ready_value(int x) { co_return x; }
RawLazyTask<int> raw_ready_value(int x) { co_return x; }

// Sums `count` ready awaits; counting (if asked) covers only the loop.
tvt::coro::Task<int> coro_await_loop(std::size_t count, bool counted) {
  if (counted) start_counting();
  int sum = 0;
  for (std::size_t i = 0; i < count; ++i) sum += co_await coro_ready_value(1);
  if (counted) stop_counting();
  co_return sum;
}
RawEagerRoot raw_await_loop(std::size_t count, bool counted, int& sum) {
  if (counted) start_counting();
  for (std::size_t i = 0; i < count; ++i) sum += co_await raw_ready_value(1);
  if (counted) stop_counting();
}

int run_await(std::string_view model) {
  std::size_t sum = 0;
  if (model == CoroLocalModel::name) {
    sum += static_cast<std::size_t>(tvt::coro::block_on(coro_await_loop(100, false)));
    sum += static_cast<std::size_t>(tvt::coro::block_on(coro_await_loop(ready_awaits, true)));
  } else {
    int raw_sum = 0;
    { auto warm = raw_await_loop(100, false, raw_sum); }
    { auto counted = raw_await_loop(ready_awaits, true, raw_sum); }
    sum = static_cast<std::size_t>(raw_sum);
  }
  if (sum != 100 + ready_awaits) {
    std::fprintf(stderr, "hotpath: await summed %zu, not %zu\n", sum, 100 + ready_awaits);
    return 1;
  }
  return 0;
}

int run_parse() {
  const tvt::protocol::Limits limits;
  const tvt::protocol::HttpReplies replies(limits);
  const std::string request = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: hotpath\r\n\r\n";
  std::string wire;
  for (std::size_t i = 0; i < parse_requests; ++i) wire += request;
  std::string out;
  out.reserve(replies.ok.size() * parse_requests);
  auto parse_all = [&](std::size_t requests) {
    tvt::protocol::HttpSession session(replies);
    out.clear();
    const std::string_view all(wire.data(), requests * request.size());
    for (std::size_t offset = 0; offset < all.size(); offset += read_chunk_bytes) {
      if (session.consume(all.substr(offset, read_chunk_bytes), out) != tvt::protocol::Verdict::keep_open) return false;
    }
    return out.size() == replies.ok.size() * requests;
  };
  parse_all(100);
  start_counting();
  const bool ok = parse_all(parse_requests);
  stop_counting();
  if (!ok) {
    std::fprintf(stderr, "hotpath: parse produced the wrong replies\n");
    return 1;
  }
  return 0;
}

void list_pairs() {
  AllModels::for_each([]<class M>() {
    const int length = static_cast<int>(M::name.size());
    std::printf("%.*s spawn\n", length, M::name.data());
    if constexpr (switch_is_deterministic<M>) std::printf("%.*s switch\n", length, M::name.data());
    if constexpr (yield_is_deterministic<M>) std::printf("%.*s yield\n", length, M::name.data());
    if constexpr (await_is_counted<M>) std::printf("%.*s await\n", length, M::name.data());
  });
  std::printf("protocol parse\n");
}

int usage() {
  std::fprintf(stderr, "usage: hotpath --list | hotpath --model MODEL --case spawn|switch|yield|await|parse\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view model, case_name;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--list") {
      list_pairs();
      return 0;
    }
    if ((arg == "--model" || arg == "--case") && i + 1 < argc) {
      (arg == "--model" ? model : case_name) = argv[++i];
    } else {
      return usage();
    }
  }
  if (model.empty() || case_name.empty()) return usage();
  if (model == "protocol") return case_name == "parse" ? run_parse() : usage();
  int status = -1;
  AllModels::for_each([&]<class M>() {
    if (model != M::name) return;
    if constexpr (await_is_counted<M>)
      if (case_name == "await") {
        status = run_await(model);
        return;
      }
    status = run_case<M>(case_name);
  });
  if (status < 0) {
    std::fprintf(stderr, "hotpath: unknown model '%.*s' (see --list)\n", static_cast<int>(model.size()), model.data());
    return 2;
  }
  return status;
}
