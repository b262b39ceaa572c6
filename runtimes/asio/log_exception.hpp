#pragma once
// The completion handler every co_spawn of this back end passes: a coroutine that ends by an exception (a peer gone
// mid-write, a failed accept) is logged, rate-limited, and never ends the server. One handler for the connection,
// chat writer, accept and stop coroutines alike.
#include <exception>

#include "net/log.hpp"

namespace tvt::asio_backend {

inline void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    static net::RateLimitedLog log;
    log.write("coroutine ended by an exception: %s", ex.what());
  }
}

}  // namespace tvt::asio_backend
