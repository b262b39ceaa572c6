// server: serves one workload on one back end until SIGINT/SIGTERM.
//   server --backend threads --workload http --port 0
// Prints exactly one line on stdout, "ready port=<p> pid=<pid>", once the socket listens; errors go to stderr.
// --shards N: N such processes on one port under a supervisor (supervisor.hpp), whose pid the ready line names.
// A peer back end (another language's runtime) is served by its own executable: see exec_peer.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>

#include "backend/server_options.hpp"
#include "backend/stop_signal.hpp"
#include "net/socket.hpp"
#include "server/registry.hpp"
#include "server/stop_on_signals.hpp"
#include "server/supervisor.hpp"

namespace {

using namespace tvt;

constexpr auto graceful_stop_budget = std::chrono::milliseconds(1800);

// The names of the registered back ends that satisfy `pred`, comma-separated (help and error texts).
template <class Pred>
std::string backend_names(Pred pred) {
  std::string names;
  for (const auto& b : server::backends())
    if (pred(b)) names.append(names.empty() ? "" : ", ").append(b.name);
  return names;
}
std::string backend_names() {
  return backend_names([](const server::BackendEntry&) { return true; });
}
bool has_variant(const server::BackendEntry& b, std::string_view variant) {
  for (const auto& v : b.variants)
    if (v.name == variant) return true;
  return false;
}

// Replaces this process with the peer's executable, found beside this one, with the same argv: the pid that prints
// "ready" is then the pid the load generator samples. Returns only on failure, with the exit code.
int exec_peer(const server::BackendEntry& peer, char** argv) {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    std::fprintf(stderr, "server: cannot find own executable: %s\n", error.message().c_str());
    return 1;
  }
  const auto path = (self.parent_path() / std::string(peer.executable)).string();
  ::execv(path.c_str(), argv);
  std::fprintf(stderr, "server: cannot run back end '%.*s' (%s): %s\n", static_cast<int>(peer.name.size()),
               peer.name.data(), path.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tasks-vs-threads server: one workload on one concurrency back end"};
  std::string backend_name;
  std::string workload_name = "http";
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t stack_size = 0;
  long idle_timeout_ms = 0;
  unsigned threads = 0;
  protocol::Limits limits;
  bool list = false;
  bool offload = false;

  app.add_option("--backend,-b", backend_name, "Back end (--list-backends describes each): " + backend_names());
  app.add_option("--workload,-w", workload_name, "Workload: echo, http, chat, compute")->capture_default_str();
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port,-p", port, "Port to listen on (0 = pick a free one)")->capture_default_str();
  app.add_option("--stack-size", stack_size, "Stack bytes per thread or fiber (0 = the model's default)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 30));
  app.add_option("--idle-timeout-ms", idle_timeout_ms,
                 "Close a connection idle, or slow to send a whole request, for this long (0 = off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--threads", threads,
                 "Worker threads (0 = one per core); honoured by " +
                     backend_names([](const auto& b) { return b.threads_option; }));
  app.add_option("--body-size", limits.http_body_bytes, "http: bytes in the 200 response body")->capture_default_str();
  app.add_option("--max-line", limits.max_line_bytes, "echo, chat, compute: longest accepted line in bytes")
      ->capture_default_str();
  app.add_option("--chat-outbox-bytes", limits.chat_outbox_bytes,
                 "chat: bytes queued per connection before messages to it are dropped (and counted)")
      ->check(CLI::Range(std::size_t{256}, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_flag("--offload", offload,
               "compute: run the digest via spawn_blocking; honoured by " +
                   backend_names([](const auto& b) { return has_variant(b, "offload"); }) +
                   " (the others compute inline)");
  std::size_t thread_cache = 0;
  app.add_option("--thread-cache", thread_cache,
                 "threads: keep up to N finished connection threads parked and give them new connections (0 = off)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20))
      ->capture_default_str();
  std::string chat_writer = "thread";
  app.add_option("--chat-writer", chat_writer,
                 "threads, chat: 'thread' = a writer thread per member beside its reader; 'inline' = one thread per "
                 "member, posters write to its socket under its lock (same outbox policy)")
      ->check(CLI::IsMember({"thread", "inline"}))
      ->capture_default_str();
  app.add_option("--max-header-bytes", limits.max_header_bytes, "http: largest header section")->capture_default_str();
  app.add_option("--max-header-fields", limits.max_header_fields, "http: most header fields")->capture_default_str();
  app.add_option("--added-work", limits.added_work,
                 "Tests the regression gate: N more steps of fixed CPU work per http/echo/compute request, the same "
                 "in every back end (0 = none)")
      ->capture_default_str();
  app.add_option("--leak-per-connection", limits.leak_per_connection,
                 "Test-only, proves the churn test catches a leak: every http/echo/compute connection leaks BYTES, the "
                 "same in every back end (0 = none)")
      ->capture_default_str();
  app.add_flag("--list-backends", list,
               "Print the back ends as JSON Lines (name, summary, language, peer, threads_option, variants) and exit");
  unsigned shards = 1;
  app.add_option("--shards", shards,
                 "Processes of this back end listening on one port with SO_REUSEPORT, under a supervisor that prints "
                 "the ready line (its pid), forwards SIGTERM and exits non-zero when a shard dies")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  int listen_fd = -1;  // a shard: the supervisor's socket, already listening; --host/--port/--shards are the supervisor's
  app.add_option("--listen-fd", listen_fd)->group("");
  bool list_workloads = false;
  app.add_flag("--list-workloads", list_workloads, "Print the workload names, one per line, and exit");
  CLI11_PARSE(app, argc, argv);

  if (list_workloads) {  // bench_all asks, so a new workload joins the matrix without a harness change
    for (auto w : protocol::all_workloads) {
      const auto n = protocol::name(w);
      std::printf("%.*s\n", static_cast<int>(n.size()), n.data());
    }
    return 0;
  }

  if (list) {  // bench_all, the tests and the docs read the list and each back end's capabilities from here
    for (const auto& b : server::backends()) std::printf("%s\n", server::to_json_line(b).c_str());
    return 0;
  }
  const auto* entry = server::find_backend(backend_name);
  if (entry == nullptr) {
    std::fprintf(stderr, "server: unknown --backend '%s' (have: %s)\n", backend_name.c_str(), backend_names().c_str());
    return 2;
  }
  if (entry->serve == nullptr) {
    // A peer's shards are this executable again (the supervisor's argv plus --listen-fd), each of which execs the
    // peer's executable, which serves the socket it is given (runtimes/peers/README.md).
    if (shards > 1 && listen_fd < 0) return server::run_supervisor(argv, shards, host, port);  // forks: no thread yet
    return exec_peer(*entry, argv);  // before any thread or signal mask exists
  }
  const auto workload = protocol::parse_workload(workload_name);
  if (!workload) {
    std::fprintf(stderr, "server: unknown --workload '%s'\n", workload_name.c_str());
    return 2;
  }
  if (stack_size != 0 && stack_size < 64 * 1024) {
    std::fprintf(stderr, "server: --stack-size must be 0 or at least 65536\n");
    return 2;
  }

  if (shards > 1 && listen_fd < 0) return server::run_supervisor(argv, shards, host, port);  // forks: no thread yet

  ::signal(SIGPIPE, SIG_IGN);  // belt and braces: every send already passes MSG_NOSIGNAL
  // Pin glibc's mmap threshold, the same for every back end. Left dynamic, freeing one large buffer raises it, later
  // large buffers come from the arenas, and the arenas keep the pages: after 20 connections each left 8 pipelined
  // 1 MiB replies unread, RSS stayed 40+ MB above idle (hostile suite, ResetMidReply). Only allocations of 128 KiB
  // and up are affected; the benchmark's paths make none.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);

  try {
    backend::ServerOptions options{protocol::WorkloadConfig(*workload, limits)};
    options.stack_size_bytes = stack_size;
    options.offload_compute = offload;
    options.thread_cache = thread_cache;
    options.chat_inline_writes = chat_writer == "inline";
    options.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
    options.worker_threads = threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
    auto listener = listen_fd >= 0 ? net::UniqueFd(listen_fd) : net::listen_tcp(host, port);
    backend::StopSignal stop;
    server::StopOnSignals signals(stop, graceful_stop_budget);
    std::printf("ready port=%u pid=%d\n", static_cast<unsigned>(net::local_port(listener.get())), ::getpid());
    std::fflush(stdout);
    entry->serve(listener.get(), options, stop);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "server: %s\n", e.what());
    return 1;
  }
  return 0;
}
