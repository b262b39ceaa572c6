// Slide: "the chat server" -- a client for people, for the suite's chat protocol (runtimes/protocol/README.md), so
// any back end's chat server can be tried by hand: `server --backend B --workload chat --port 7000`, then in two
// terminals `chat_client localhost 7000`.
//   /join GROUP    join GROUP and make it the current group
//   /leave [GROUP] leave GROUP (default: the current one)
//   anything else  a message to the current group
// It prints what arrives: "[group] message", "* joined group", "* left group", "! ..." for errors and drops.
// It exits (status 0) at the end of its input, after the server has seen everything it sent, or when the server
// goes (closed the connection, for instance after a line over its --max-line: the protocol's answer to that).
//
// Two tasks on one thread, as the book's async chat client: one prints what the server sends, one reads stdin and
// sends commands. Reading stdin blocks, so each line is read on the blocking pool (async-std's stdin does the same);
// the read polls with a short timeout so that it can notice the server has gone and let the program end.
//   chat_client HOST PORT
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "args.hpp"
#include "coro/block_on.hpp"
#include "coro/spawn.hpp"
#include "coro/spawn_blocking.hpp"
#include "coro/tcp_stream.hpp"
#include "coro/timeout.hpp"

using namespace tvt::coro;
using namespace std::chrono_literals;

namespace {

void say(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);  // a person (or a test) is waiting for each line
}

// Concatenation by appending: g++ 12 at -O3 reports a false -Wrestrict for `"[" + std::string(...)`.
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out.append(p);
  return out;
}

// What the server sent, for a person.
std::string render(std::string_view line) {
  auto after = [&](std::string_view word) -> std::optional<std::string_view> {
    if (line.substr(0, word.size()) != word) return std::nullopt;
    return line.substr(word.size());
  };
  if (auto rest = after("MSG ")) {
    const auto space = rest->find(' ');
    if (space == std::string_view::npos) return cat({"[", *rest, "]"});
    return cat({"[", rest->substr(0, space), "] ", rest->substr(space + 1)});
  }
  if (auto group = after("JOINED ")) return cat({"* joined ", *group});
  if (auto group = after("LEFT ")) return cat({"* left ", *group});
  if (auto reason = after("ERR ")) return cat({"! server error: ", *reason});
  if (auto n = after("DROPPED ")) return cat({"! the server dropped ", *n, " message(s) we read too slowly"});
  return cat({"? ", line});
}

// Prints the server's lines until it closes the connection; then tells the stdin reader to stop.
Task<void> print_incoming(std::shared_ptr<TcpStream> socket, std::shared_ptr<std::atomic<bool>> server_gone) {
  std::string pending;
  char buf[4096];
  try {
    for (;;) {
      const auto n = co_await socket->read(buf);
      if (n == 0) break;
      pending.append(buf, n);
      for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
        say(render(std::string_view(pending).substr(0, nl)));
        pending.erase(0, nl + 1);
      }
    }
    if (!pending.empty()) say(render(pending));
    say("* the server closed the connection");
  } catch (const std::system_error& e) {  // a reset: the server closed with our bytes unread, or went away
    say(cat({"* the server closed the connection (", e.what(), ")"}));
  }
  server_gone->store(true);
}

// Lines of stdin, read where blocking is allowed (the blocking pool). One reader at a time: each job is awaited
// before the next starts, which also orders their use of `buffer_`.
class StdinLines {
 public:
  // The next line without its '\n' (a last line without one too); nullopt at end of input or once `stop` is set.
  std::optional<std::string> next(const std::atomic<bool>& stop) {
    for (;;) {
      if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (eof_ || stop.load()) break;
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (::poll(&p, 1, 100) == 0) continue;  // nothing yet: look at `stop` again
      char chunk[4096];
      const auto n = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR) eof_ = true;
    }
    if (buffer_.empty() || stop.load()) return std::nullopt;
    return std::exchange(buffer_, {});
  }

 private:
  std::string buffer_;
  bool eof_ = false;
};

// A line typed by the user -> the protocol line to send (empty: nothing to send).
std::string command_for(const std::string& line, std::string& current_group) {
  if (line.rfind("/join ", 0) == 0) {
    current_group = line.substr(6);
    return cat({"JOIN ", current_group, "\n"});
  }
  if (line == "/leave" || line.rfind("/leave ", 0) == 0) {
    const std::string group = line.size() > 7 ? line.substr(7) : current_group;
    if (group == current_group) current_group.clear();
    if (group.empty()) say("! not in a group");
    return group.empty() ? "" : cat({"LEAVE ", group, "\n"});
  }
  if (line.empty()) return "";
  if (current_group.empty()) {
    say("! join a group first: /join NAME");
    return "";
  }
  return cat({"MSG ", current_group, " ", line, "\n"});
}

Task<void> chat(std::string host, std::uint16_t port) {
  auto socket = std::make_shared<TcpStream>(co_await TcpStream::connect(host, port));
  auto server_gone = std::make_shared<std::atomic<bool>>(false);
  // The printer shares the socket (it reads, we write: one waiter per direction) and owns its arguments.
  auto incoming = spawn_local(print_incoming(socket, server_gone));
  auto input = std::make_shared<StdinLines>();
  std::string current_group;
  for (;;) {
    auto next_line = spawn_blocking([input, server_gone] { return input->next(*server_gone); });
    const std::optional<std::string> line = co_await next_line;
    if (!line) break;
    const std::string command = command_for(*line, current_group);
    if (command.empty()) continue;
    try {
      co_await socket->write_all(command);
    } catch (const std::system_error&) {
      break;  // the server has gone; print_incoming says how
    }
  }
  // End of input: say so to the server (FIN) and print what it still sends until it closes (bounded).
  if (!server_gone->load()) socket->shutdown(Shutdown::write);
  try {
    co_await timeout(2s, [](JoinHandle<void>& printer) -> Task<void> { co_await printer; }(incoming));
  } catch (const std::system_error&) {
    say("* the server did not close the connection within 2 s; leaving");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto server = examples::host_and_port(argc, argv);
  if (!server) return 2;
  try {
    block_on(chat(server->host, server->port));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chat_client: %s\n", e.what());
    return 1;
  }
}
