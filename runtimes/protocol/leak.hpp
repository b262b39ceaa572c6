#pragma once
// The knob that proves the churn test catches a leak (tests/integration/churn_test.cpp): `server
// --leak-per-connection BYTES` makes every new http, echo or compute session allocate BYTES, touch every page of them
// and never free them, in every back end alike (they all make sessions through protocol::with_session_factory).
// Test-only: a server run with it leaks on purpose. 0 (the default) costs one predictable branch and no memory.
#include <cstddef>
#include <cstring>
#include <new>

namespace tvt::protocol {

inline void leak_per_connection(std::size_t bytes) {
  if (bytes == 0) return;
  auto* lost = static_cast<char*>(::operator new(bytes, std::nothrow));
  if (lost == nullptr) return;
  std::memset(lost, 0x5a, bytes);  // touched, so the pages count in RSS
  asm volatile("" : : "r"(lost) : "memory");  // an opaque use: the compiler may not drop the allocation and writes
}

}  // namespace tvt::protocol
