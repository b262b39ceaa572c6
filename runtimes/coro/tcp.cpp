// AsyncFd, TcpStream and TcpListener.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "coro/async_fd.hpp"
#include "coro/tcp_listener.hpp"
#include "coro/tcp_resolve.hpp"
#include "coro/tcp_stream.hpp"
#include "coro/yield_now.hpp"
#include "net/socket.hpp"

namespace tvt::coro {
namespace {

[[noreturn]] void throw_errno(int err, const char* what) { throw std::system_error(err, std::generic_category(), what); }

}  // namespace

// ---- AsyncFd ----

AsyncFd::AsyncFd(AsyncFd&& other) noexcept : fd_(other.fd_), owned_(other.owned_) {
  if (other.registration_.registered()) other.registration_.reactor()->remove(other.registration_);
  other.fd_ = -1;
  other.owned_ = false;
}

AsyncFd& AsyncFd::operator=(AsyncFd&& other) noexcept {
  if (this != &other) {
    close();
    if (other.registration_.registered()) other.registration_.reactor()->remove(other.registration_);
    fd_ = std::exchange(other.fd_, -1);
    owned_ = std::exchange(other.owned_, false);
  }
  return *this;
}

void AsyncFd::close() noexcept {
  if (registration_.registered()) registration_.reactor()->remove(registration_);
  if (owned_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  owned_ = false;
}

void AsyncFd::ensure_registered() {
  if (registration_.registered()) return;
  reactor::Reactor* r = reactor::Reactor::current();
  if (r == nullptr) throw std::logic_error("coro: waiting on an fd outside a runtime thread (no reactor)");
  r->add(fd_, registration_);
}

bool AsyncFd::Wait::await_suspend(std::coroutine_handle<> resume) {
  detail::TaskHeader& me = detail::require_current_task("waiting on an fd");
  if (me.interrupted()) return false;
  fd_.ensure_registered();
  waker_ = {&detail::TaskHeader::wake_fn, &me};
  // The park protocol (registration.hpp): false = an edge arrived since the last wait; the caller retries at once.
  if (!fd_.registration_.park(dir(), waker_)) return false;
  parked_ = true;
  if (limit_ms_ > 0) {
    fd_.registration_.reactor()->add_timer(timer_, reactor::Clock::now() + std::chrono::milliseconds(limit_ms_),
                                           waker_);
    timer_armed_ = true;
  }
  detail::park_current(me, resume, &poll, this);
  return true;
}

void AsyncFd::Wait::disarm_timer() noexcept {
  // Exact: the entry may die after this. The registration is still with the reactor that has the timer (an fd
  // stays with its reactor while a Wait on it lives).
  if (timer_armed_) fd_.registration_.reactor()->cancel_timer(timer_);
}

bool AsyncFd::Wait::poll(void* leaf, detail::TaskHeader& me) noexcept {
  auto* self = static_cast<Wait*>(leaf);
  reactor::Registration& reg = self->fd_.registration_;
  if (!reg.has_waiter(self->dir())) {  // an edge woke us (one waiter per direction: it was ours)
    self->disarm_timer();
    return true;
  }
  const bool expired = self->timer_armed_ && reactor::Clock::now() >= self->timer_.deadline();
  if (!expired && !me.interrupted()) return false;  // spurious: still parked
  if (reg.unpark(self->dir(), self->waker_)) self->timed_out_ = expired;  // else an edge won the race: just resume
  self->disarm_timer();
  return true;
}

void AsyncFd::Wait::await_resume() {
  // Not parked either because an edge was pending or because the task was already interrupted (cancelled while
  // running, or a timeout expired): the latter must throw here too, or a "wait, try, EAGAIN" loop spins forever.
  detail::throw_if_interrupted(*detail::current_task());
  if (!parked_) return;
  if (timed_out_) throw std::system_error(std::make_error_code(std::errc::timed_out), "no data within the idle limit");
}

// ---- TcpStream ----

TcpStream::TcpStream(net::UniqueFd fd) {
  net::set_nonblocking(fd.get());
  io_ = AsyncFd(fd.release(), Ownership::owned);
}

std::optional<std::size_t> TcpStream::try_read(std::span<char> buffer) {
  const long n = net::recv_some(io_.fd(), buffer.data(), buffer.size());
  if (n >= 0) return static_cast<std::size_t>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
  throw_errno(errno, "recv");
}

std::size_t TcpStream::try_write(std::string_view data) {
  const long n = net::send_some(io_.fd(), data.data(), data.size());
  if (n >= 0) return static_cast<std::size_t>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  throw_errno(errno, "send");
}

Task<std::size_t> TcpStream::read(std::span<char> buffer) {
  for (;;) {
    if (const auto n = try_read(buffer)) co_return *n;
    co_await io_.readable();
  }
}

Task<void> TcpStream::read_exact(std::span<char> buffer) {
  while (!buffer.empty()) {
    const auto n = try_read(buffer);
    if (!n) {
      co_await io_.readable();
      continue;
    }
    if (*n == 0) throw std::system_error(std::make_error_code(std::errc::connection_aborted), "unexpected end of stream");
    buffer = buffer.subspan(*n);
  }
}

Task<std::size_t> TcpStream::read_to_string(std::string& out) {
  const std::size_t before = out.size();
  char chunk[4096];
  for (;;) {
    const auto n = try_read(chunk);
    if (!n) {
      co_await io_.readable();
      continue;
    }
    if (*n == 0) co_return out.size() - before;
    out.append(chunk, *n);
  }
}

Task<void> TcpStream::write_all(std::string_view data, std::chrono::milliseconds stall_limit) {
  while (!data.empty()) {
    data.remove_prefix(try_write(data));
    if (!data.empty()) co_await io_.writable(stall_limit);  // the limit restarts with every byte the peer takes
  }
}

void TcpStream::shutdown(Shutdown how) {
  const int flag = how == Shutdown::read ? SHUT_RD : how == Shutdown::write ? SHUT_WR : SHUT_RDWR;
  if (::shutdown(io_.fd(), flag) != 0 && errno != ENOTCONN) throw_errno(errno, "shutdown");
}

namespace {

// Connects `stream` to `address` on a fresh socket of its family; 0, or the errno that says why it failed.
Task<int> connect_to(const SocketAddress& address, TcpStream& stream) {
  net::UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno(errno, "socket");  // not this address's fault: no other address would do better
  stream = TcpStream(std::move(fd));
  int rc;
  do {
    rc = ::connect(stream.fd(), address.get(), address.size());
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) co_return 0;
  if (const int err = errno; err != EINPROGRESS) co_return err;
  for (;;) {
    co_await stream.writable();
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(stream.fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) throw_errno(errno, "getsockopt");
    if (err != EINPROGRESS && err != EALREADY) co_return err;
  }
}

}  // namespace

Task<TcpStream> TcpStream::connect(std::string host, std::uint16_t port) {
  const std::vector<SocketAddress> addresses = co_await resolve(host, port);
  // Like std::net and async-std: try each address in the resolver's order; report the last failure.
  int err = 0;
  std::string tried;
  for (const SocketAddress& address : addresses) {
    TcpStream stream;
    err = co_await connect_to(address, stream);
    if (err == 0) {
      net::set_nodelay(stream.fd());
      co_return stream;
    }
    tried = address.to_string();
  }
  throw_errno(err, ("connect " + host + ":" + std::to_string(port) + " (" + tried + ")").c_str());
}

// ---- TcpListener ----

TcpListener::TcpListener(int fd, Ownership ownership)
    : io_(fd, ownership), acceptor_(fd, /*nonblocking_connections=*/true) {
  net::set_nonblocking(fd);
}

TcpListener TcpListener::bind(const std::string& host, std::uint16_t port) {
  const auto literal = SocketAddress::parse_literal(host, port);
  if (!literal || literal->family() != AF_INET6)
    return TcpListener(net::listen_tcp(host, port).release(), Ownership::owned);
  // IPv6 (net::listen_tcp speaks IPv4): the same options, an IPv6-only socket.
  net::UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno(errno, "socket");
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
    throw_errno(errno, "setsockopt");
  if (::bind(fd.get(), literal->get(), literal->size()) != 0)
    throw_errno(errno, ("bind " + literal->to_string()).c_str());
  if (::listen(fd.get(), 65535) != 0) throw_errno(errno, "listen");  // the kernel caps it at net.core.somaxconn
  return TcpListener(fd.release(), Ownership::owned);
}

TcpListener TcpListener::borrow(int listen_fd) { return TcpListener(listen_fd, Ownership::borrowed); }

std::uint16_t TcpListener::local_port() const {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getsockname(io_.fd(), reinterpret_cast<sockaddr*>(&address), &size) != 0) throw_errno(errno, "getsockname");
  return SocketAddress(reinterpret_cast<const sockaddr*>(&address), size).port();
}

Task<TcpStream> TcpListener::accept() {
  for (;;) {
    auto result = acceptor_.accept();
    switch (result.status) {
      case net::AcceptStatus::accepted:
        net::set_nodelay(result.fd.get());
        co_return TcpStream(std::move(result.fd));
      case net::AcceptStatus::would_block:
        co_await io_.readable();
        break;
      case net::AcceptStatus::shed:  // one pending connection was closed for lack of fds: look again
        break;
      case net::AcceptStatus::failed:  // transient (ECONNABORTED, ENOBUFS): let others run before retrying
        co_await yield_now();
        break;
    }
  }
}

}  // namespace tvt::coro
