#pragma once
// `Counted`: counts live instances, so a test can prove that frames and values a task owned were destroyed
// (cppcoro's test helper of the same name).
#include <atomic>

namespace tvt::coro::test {

struct Counted {
  static inline std::atomic<int> live{0};
  static inline std::atomic<int> constructed{0};
  int id = 0;
  Counted() { live.fetch_add(1), constructed.fetch_add(1); }
  explicit Counted(int i) : id(i) { live.fetch_add(1), constructed.fetch_add(1); }
  Counted(const Counted& o) : id(o.id) { live.fetch_add(1), constructed.fetch_add(1); }
  Counted(Counted&& o) noexcept : id(o.id) { live.fetch_add(1), constructed.fetch_add(1); }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) = default;
  ~Counted() { live.fetch_sub(1); }
  static void reset() { live = 0, constructed = 0; }
};

}  // namespace tvt::coro::test
