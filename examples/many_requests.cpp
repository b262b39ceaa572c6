// Slide: "spawn_local, spawn and JoinHandle" -- many requests at once. Each request becomes a task; the handles are
// awaited in request order, so the results come back in that order whatever order the replies arrive in. Each
// JoinHandle carries its task's error like Rust's Result: one failed request is one error among the results, the
// others are still there. The same list runs three ways, timed:
//   sequential   one after another (await each before starting the next): about the sum of the delays
//   spawn_local  tasks in block_on's own pool, all on this thread: about the slowest request
//   spawn        tasks on the thread pool's workers: about the slowest request
//   many_requests HOST:PORT/PATH...     (IPv6: [::1]:PORT/PATH)
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "args.hpp"
#include "cheapo.hpp"
#include "coro/block_on.hpp"
#include "coro/join_handle.hpp"
#include "coro/spawn.hpp"

using namespace tvt::coro;

namespace {

struct Request {
  std::string url, host;
  std::uint16_t port = 0;
  std::string path;
};

Request parse(const std::string& url) {
  const auto bracket = url.find(']');
  const auto slash = url.find('/', bracket == std::string::npos ? 0 : bracket);
  const std::string authority = url.substr(0, slash);
  const auto colon = authority.rfind(':');
  const auto port = colon == std::string::npos ? std::nullopt : examples::parse_port(authority.substr(colon + 1));
  if (!port || slash == std::string::npos) throw std::invalid_argument("expected HOST:PORT/PATH, got " + url);
  return {url, authority.substr(0, colon), *port, url.substr(slash)};
}

// One outcome per request: the response's status line and body, or the error (Rust: std::io::Result<String>).
struct Outcome {
  bool ok;
  std::string text;
};

Outcome summarize(const std::string& response) { return {true, examples::status_and_body(response)}; }

Task<std::vector<Outcome>> sequential(std::vector<Request> requests) {
  std::vector<Outcome> results;
  for (const auto& r : requests) {
    try {
      results.push_back(summarize(co_await examples::cheapo_request(r.host, r.port, r.path)));
    } catch (const std::exception& e) {
      results.push_back({false, e.what()});
    }
  }
  co_return results;
}

// `spawn_one` is spawn_local or spawn. The tasks own their arguments (cheapo_owning_request): they may run after
// this loop's iteration, so they must not borrow `r`.
template <class Spawn>
Task<std::vector<Outcome>> concurrent(std::vector<Request> requests, Spawn spawn_one) {
  std::vector<JoinHandle<std::string>> handles;
  for (const auto& r : requests) handles.push_back(spawn_one(examples::cheapo_owning_request(r.host, r.port, r.path)));
  std::vector<Outcome> results;
  for (auto& h : handles) {  // in request order
    try {
      results.push_back(summarize(co_await h));  // the task's exception comes out here, for this request only
    } catch (const std::exception& e) {
      results.push_back({false, e.what()});
    }
  }
  co_return results;
}

template <class Run>
void timed(const char* how, const std::vector<Request>& requests, Run run) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Outcome> results = block_on(run(requests));
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("%-12s %zu results in %.0f ms\n", how, results.size(), ms);
  for (std::size_t i = 0; i < results.size(); ++i)
    std::printf("  %-28s %s %s\n", requests[i].url.c_str(), results[i].ok ? "ok   " : "error", results[i].text.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s HOST:PORT/PATH...\n", argv[0]);
    return 2;
  }
  std::vector<Request> requests;
  try {
    for (int i = 1; i < argc; ++i) requests.push_back(parse(argv[i]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  timed("sequential", requests, [](std::vector<Request> rs) { return sequential(std::move(rs)); });
  timed("spawn_local", requests, [](std::vector<Request> rs) {
    return concurrent(std::move(rs), [](Task<std::string> t) { return spawn_local(std::move(t)); });
  });
  timed("spawn", requests, [](std::vector<Request> rs) {
    return concurrent(std::move(rs), [](Task<std::string> t) { return spawn(std::move(t)); });
  });
}
