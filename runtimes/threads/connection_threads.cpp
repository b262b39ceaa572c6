// Invariants and shutdown order: connection_threads.hpp.
#include "threads/connection_threads.hpp"

#include <sys/socket.h>

namespace tvt::threads {

bool ConnectionThreads::hand_off(int fd) {
  std::lock_guard lock(mutex_);
  Parked* p = parked_;
  if (p == nullptr || stopping_) return false;
  parked_ = p->next;
  --parked_count_;
  p->fd = fd;
  p->wakeup.notify_one();
  return true;
}

void ConnectionThreads::thread_starting() {
  std::lock_guard lock(mutex_);
  ++threads_;
}

void ConnectionThreads::thread_not_started() { thread_exited(); }

bool ConnectionThreads::add(Live& connection) {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  connection.prev = nullptr;
  connection.next = live_;
  if (live_ != nullptr) live_->prev = &connection;
  live_ = &connection;
  return true;
}

void ConnectionThreads::remove(Live& connection) {
  std::lock_guard lock(mutex_);
  if (connection.prev != nullptr) connection.prev->next = connection.next;
  else live_ = connection.next;
  if (connection.next != nullptr) connection.next->prev = connection.prev;
}

int ConnectionThreads::park() {
  std::unique_lock lock(mutex_);
  if (stopping_ || parked_count_ >= cache_capacity_) return -1;
  Parked me;
  me.next = parked_;
  parked_ = &me;
  ++parked_count_;
  // Unlinked by hand_off (fd set) or by stop (fd stays -1) before either notifies.
  me.wakeup.wait(lock, [&] { return me.fd >= 0 || stopping_; });
  return me.fd;
}

void ConnectionThreads::thread_exited() {
  std::lock_guard lock(mutex_);
  if (--threads_ == 0) all_exited_.notify_all();
}

void ConnectionThreads::stop_and_wait(std::chrono::milliseconds budget) {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  for (Live* c = live_; c != nullptr; c = c->next) ::shutdown(c->fd, SHUT_RDWR);
  for (Parked* p = parked_; p != nullptr; p = p->next) p->wakeup.notify_one();
  parked_ = nullptr;
  parked_count_ = 0;
  all_exited_.wait_for(lock, budget, [&] { return threads_ == 0; });
}

}  // namespace tvt::threads
