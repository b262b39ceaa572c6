// Reactor implementation; invariants are in reactor.hpp.
#include "reactor/reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace tvt::reactor {

namespace {
// Defined here, not in the header, so every access goes through this translation unit (UBSan reported a
// null TLS address for inline accesses to a static thread_local member from other units under g++ 12).
thread_local Reactor* current_reactor = nullptr;
}  // namespace

Reactor* Reactor::current() noexcept { return current_reactor; }
Reactor::ScopedCurrent::ScopedCurrent(Reactor& r) : previous_(current_reactor) { current_reactor = &r; }
Reactor::ScopedCurrent::~ScopedCurrent() { current_reactor = previous_; }

namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

constexpr std::uint32_t read_edges = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI;
constexpr std::uint32_t write_edges = EPOLLOUT | EPOLLHUP | EPOLLERR;

}  // namespace

Registration::~Registration() {
  if (reactor_ != nullptr) reactor_->remove(*this);
}

bool Registration::unpark(Direction dir, Waker& waker) { return reactor_->unpark(*this, dir, waker); }

Reactor::Reactor() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("epoll_create1");
  event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) {
    const int err = errno;
    ::close(epoll_fd_);
    throw std::system_error(err, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = event_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
    const int err = errno;
    ::close(event_fd_);
    ::close(epoll_fd_);
    throw std::system_error(err, std::generic_category(), "epoll_ctl(eventfd)");
  }
}

Reactor::~Reactor() {
  // Whatever is still here outlives us (e.g. a listener owned by code outside the runtime that made this reactor):
  // detach it, so that it is simply unregistered/unarmed afterwards instead of pointing at a dead reactor.
  for (Registration* reg : table_) {
    if (reg == nullptr) continue;
    reg->reactor_ = nullptr;
    reg->fd_ = -1;
  }
  for (TimerEntry* e : heap_) e->heap_index_ = TimerEntry::npos;
  ::close(event_fd_);
  ::close(epoll_fd_);
}

void Reactor::add(int fd, Registration& reg) {
  assert(fd >= 0 && reg.reactor_ == nullptr);
  {
    std::lock_guard lock(mutex_);
    const auto index = static_cast<std::size_t>(fd);
    if (index >= table_.size()) table_.resize(std::max(index + 1, table_.size() * 2), nullptr);
    table_[index] = &reg;
    registrations_.store(registrations_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    reg.reactor_ = this;
    reg.fd_ = fd;
    reg.read_closed_.store(false, std::memory_order_relaxed);  // relaxed: published by the mutex and epoll_ctl
  }
  // Outside the lock: epoll_ctl may take a while, and the table entry is already there for the first edge.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    std::lock_guard lock(mutex_);
    table_[static_cast<std::size_t>(fd)] = nullptr;
    registrations_.store(registrations_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    reg.reactor_ = nullptr;
    reg.fd_ = -1;
    throw std::system_error(err, std::generic_category(), "epoll_ctl(ADD)");
  }
}

void Reactor::remove(Registration& reg) {
  assert(reg.reactor_ == this);
  assert(!reg.has_waiter(Direction::read) && !reg.has_waiter(Direction::write));
  const int fd = reg.fd_;
  {
    std::lock_guard lock(mutex_);
    table_[static_cast<std::size_t>(fd)] = nullptr;
    registrations_.store(registrations_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    reg.reactor_ = nullptr;
    reg.fd_ = -1;
  }
  // An event harvested before this DEL finds no table entry and is dropped. ENOENT/EBADF: the fd was closed first
  // (the kernel dropped it then), which is harmless.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

bool Reactor::unpark(Registration& reg, Direction dir, Waker& waker) {
  std::lock_guard lock(mutex_);
  auto expected = reinterpret_cast<std::uintptr_t>(&waker);
  // relaxed is enough: under the mutex, the only other writer of a Waker* slot (on_edge) is excluded; a concurrent
  // park() cannot happen (one waiter per direction, and it is ours).
  return reg.slots_[static_cast<unsigned>(dir)].compare_exchange_strong(expected, Registration::empty,
                                                                         std::memory_order_relaxed);
}

void Reactor::add_timer(TimerEntry& entry, Clock::time_point deadline, Waker& waker) {
  bool must_notify = false;
  {
    std::lock_guard lock(mutex_);
    assert(entry.heap_index_ == TimerEntry::npos);
    entry.deadline_ = deadline;
    entry.waker_ = &waker;
    entry.sequence_ = next_sequence_++;
    heap_push(&entry);
    must_notify = deadline < sleeping_until_;
  }
  if (must_notify) notify();
}

bool Reactor::cancel_timer(TimerEntry& entry) {
  std::lock_guard lock(mutex_);
  if (entry.heap_index_ == TimerEntry::npos) return false;
  heap_remove(entry.heap_index_);
  return true;
}

std::size_t Reactor::timer_count() const {
  std::lock_guard lock(mutex_);
  return heap_.size();
}

std::size_t Reactor::registration_count() const {
  std::lock_guard lock(mutex_);
  return registrations_.load(std::memory_order_relaxed);
}

void Reactor::notify() {
  if (!notify_pending_.exchange(true)) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(event_fd_, &one, sizeof one);  // EAGAIN only at 2^64-2: cannot happen
  }
}

std::size_t Reactor::poll(std::chrono::milliseconds timeout) {
  // Only looking, with no fd registered: epoll_wait could report nothing but the eventfd, whose notify() only says
  // "look at your queues", which the caller does after any poll; its edge stays queued for the next poll that waits
  // (notify_pending_ stays set meanwhile, so later notify() calls still skip their write). No syscall then: a busy
  // runtime without I/O (pure compute, or the yields of a micro benchmark) pays nothing for its fairness polls, while
  // one with sockets polls them exactly as before. Due timers still fire here.
  if (timeout.count() == 0 && registrations_.load(std::memory_order_relaxed) == 0) {
    if (timers_.load(std::memory_order_relaxed) == 0) return 0;
    std::lock_guard lock(mutex_);
    return heap_.empty() ? 0 : fire_due_timers(Clock::now());
  }
  int timeout_ms = timeout.count() < 0 ? -1 : static_cast<int>(std::min<long long>(timeout.count(), 1 << 30));
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (!heap_.empty()) {
      const auto until_due = heap_.front()->deadline_ - now;
      // Round up: waking a little late is fine, waking early means a useless extra epoll_wait.
      const auto due_ms = until_due <= Clock::duration::zero()
                              ? 0
                              : std::chrono::ceil<std::chrono::milliseconds>(until_due).count();
      if (timeout_ms < 0 || due_ms < timeout_ms) timeout_ms = static_cast<int>(std::min<long long>(due_ms, 1 << 30));
    }
    if (timeout_ms != 0)
      sleeping_until_ = timeout_ms < 0 ? Clock::time_point::max() : now + std::chrono::milliseconds(timeout_ms);
  }

  int n = ::epoll_wait(epoll_fd_, events_, max_events_per_poll, timeout_ms);
  if (n < 0) n = 0;  // EINTR: treat as a timeout; the caller loops

  std::size_t woken = 0;
  std::lock_guard lock(mutex_);
  sleeping_until_ = Clock::time_point::min();
  for (int i = 0; i < n; ++i) {
    const int fd = events_[i].data.fd;
    const std::uint32_t bits = events_[i].events;
    if (fd == event_fd_) {
      // Drain first, then clear the flag. The other order loses wake-ups: a notify() between the clear and the
      // read writes, the read swallows its count, and epoll then drops the queued edge because the eventfd is no
      // longer readable when harvested -- leaving the flag set forever, so every later notify() skips its write.
      // In this order a notify() before the clear sees the flag set and skips (its work is visible to the caller
      // once poll returns); one after it writes, and that count is still there at the next harvest.
      std::uint64_t count;
      [[maybe_unused]] const auto r = ::read(event_fd_, &count, sizeof count);
      notify_pending_.store(false);
      continue;
    }
    const auto index = static_cast<std::size_t>(fd);
    Registration* reg = index < table_.size() ? table_[index] : nullptr;
    if (reg == nullptr) continue;  // removed after epoll_wait harvested it
    if (bits & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) reg->on_read_closed();  // before the wake that may read it
    if (bits & read_edges) woken += reg->on_edge(Direction::read);
    if (bits & write_edges) woken += reg->on_edge(Direction::write);
  }
  if (!heap_.empty()) woken += fire_due_timers(Clock::now());
  return woken;
}

std::size_t Reactor::fire_due_timers(Clock::time_point now) {
  std::size_t fired = 0;
  while (!heap_.empty() && heap_.front()->deadline_ <= now) {
    TimerEntry* e = heap_.front();
    heap_remove(0);
    e->waker_->wake();
    ++fired;
  }
  return fired;
}

bool Reactor::earlier(const TimerEntry* a, const TimerEntry* b) {
  return a->deadline_ < b->deadline_ || (a->deadline_ == b->deadline_ && a->sequence_ < b->sequence_);
}

void Reactor::heap_push(TimerEntry* e) {
  e->heap_index_ = heap_.size();
  heap_.push_back(e);
  timers_.store(heap_.size(), std::memory_order_relaxed);
  heap_sift_up(e->heap_index_);
}

void Reactor::heap_remove(std::size_t index) {
  TimerEntry* removed = heap_[index];
  TimerEntry* last = heap_.back();
  heap_.pop_back();
  timers_.store(heap_.size(), std::memory_order_relaxed);
  removed->heap_index_ = TimerEntry::npos;
  if (index == heap_.size()) return;  // it was the last one
  heap_[index] = last;
  last->heap_index_ = index;
  heap_sift_up(index);
  heap_sift_down(last->heap_index_);
}

void Reactor::heap_sift_up(std::size_t index) {
  TimerEntry* e = heap_[index];
  while (index > 0) {
    const std::size_t parent = (index - 1) / 2;
    if (!earlier(e, heap_[parent])) break;
    heap_[index] = heap_[parent];
    heap_[index]->heap_index_ = index;
    index = parent;
  }
  heap_[index] = e;
  e->heap_index_ = index;
}

void Reactor::heap_sift_down(std::size_t index) {
  TimerEntry* e = heap_[index];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && earlier(heap_[child + 1], heap_[child])) ++child;
    if (!earlier(heap_[child], e)) break;
    heap_[index] = heap_[child];
    heap_[index]->heap_index_ = index;
    index = child;
  }
  heap_[index] = e;
  e->heap_index_ = index;
}

}  // namespace tvt::reactor
