#pragma once
// A task's outcome: nothing yet, a value, or an exception. Written once by the task, read once by whoever awaits it.
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace tvt::coro::detail {

template <class T>
class Result {
 public:
  template <class U>
  void set_value(U&& value) {
    state_.template emplace<1>(std::forward<U>(value));
  }
  void set_exception(std::exception_ptr e) { state_.template emplace<2>(std::move(e)); }

  // Returns the value or rethrows the exception. Call once.
  T take() {
    if (state_.index() == 2) std::rethrow_exception(std::get<2>(state_));
    return std::move(std::get<1>(state_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> state_;
};

template <>
class Result<void> {
 public:
  // Whether it finished is the owner's knowledge (the task's COMPLETE state, the join slot): only the exception is kept.
  void set_value() noexcept {}
  void set_exception(std::exception_ptr e) { exception_ = std::move(e); }
  void take() {
    if (exception_) std::rethrow_exception(exception_);
  }
  bool holds_exception() const noexcept { return static_cast<bool>(exception_); }

 private:
  std::exception_ptr exception_;
};

}  // namespace tvt::coro::detail
