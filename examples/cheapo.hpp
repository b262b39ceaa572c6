#pragma once
// The seed's cheapo_request and its owning wrapper, shared by the examples that use them (slides: "async fn",
// "lifetimes"). Both read the whole response: the request says nothing about keep-alive, so the write half is shut
// down and the server's reply ends with its close.
#include <cstdint>
#include <string>

#include "coro/task.hpp"
#include "coro/tcp_stream.hpp"

namespace examples {

// As in the book, the host and path are borrowed. Awaiting it directly is fine: the caller's strings outlive the
// await. Spawning it is not (see owning_request.cpp): the task may run after the strings are gone.
inline tvt::coro::Task<std::string> cheapo_request(const std::string& host, std::uint16_t port,
                                                   const std::string& path) {
  auto socket = co_await tvt::coro::TcpStream::connect(host, port);  // a name is resolved on the blocking pool
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
  co_await socket.write_all(request);
  socket.shutdown(tvt::coro::Shutdown::write);
  std::string response;
  co_await socket.read_to_string(response);
  co_return response;
}

// "HTTP/1.1 200 OK | slept 10 ms": a response's status line and body on one line, for printing.
inline std::string status_and_body(const std::string& response) {
  const auto body_at = response.find("\r\n\r\n");
  std::string body = body_at == std::string::npos ? "" : response.substr(body_at + 4);
  while (!body.empty() && body.back() == '\n') body.pop_back();
  std::string line = response.substr(0, response.find("\r\n"));
  line.append(" | ").append(body);
  return line;
}

// The owning wrapper: parameters by value live in the coroutine frame, so the task owns what it borrows inward and
// can be spawned ('static in Rust's terms).
inline tvt::coro::Task<std::string> cheapo_owning_request(std::string host, std::uint16_t port, std::string path) {
  co_return co_await cheapo_request(host, port, path);
}

}  // namespace examples
