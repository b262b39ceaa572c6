#pragma once
// The workloads a server can run, and the one place that maps a workload name to its session type. Back ends never
// name a session type: they call `with_session_factory` and get a callable that makes fresh sessions.
#include <optional>
#include <span>
#include <string_view>

#include "protocol/compute.hpp"
#include "protocol/echo.hpp"
#include "protocol/http.hpp"
#include "protocol/leak.hpp"
#include "protocol/limits.hpp"
#include "protocol/unsupported_session.hpp"

namespace tvt::protocol {

enum class Workload { echo, http, chat, compute };

inline constexpr Workload all_workloads[] = {Workload::echo, Workload::http, Workload::chat, Workload::compute};

constexpr std::string_view name(Workload w) {
  switch (w) {
    case Workload::echo: return "echo";
    case Workload::http: return "http";
    case Workload::chat: return "chat";
    case Workload::compute: return "compute";
  }
  return "?";
}

constexpr std::optional<Workload> parse_workload(std::string_view s) {
  for (auto w : all_workloads)
    if (name(w) == s) return w;
  return std::nullopt;
}

// Immutable per-server state shared by every connection (limits, prebuilt replies). Lives as long as the server.
struct WorkloadConfig {
  WorkloadConfig(Workload w, const Limits& l) : workload(w), limits(l), http(l) {}
  Workload workload;
  Limits limits;
  HttpReplies http;
};

// Calls `f(make_session)` where `make_session()` returns a new session of the configured workload's type, so the
// caller's connection loop is instantiated once per session type and dispatches no further at run time.
// Chat is not a Session (its connections share state through each model's own hub), so back ends serve it before
// calling this; a back end that does not yet serve chat gets a session that answers ERR and closes.
template <class F>
decltype(auto) with_session_factory(const WorkloadConfig& config, F&& f) {
  switch (config.workload) {
    case Workload::echo:
      return f([&config] {
        leak_per_connection(config.limits.leak_per_connection);
        return EchoSession(config.limits);
      });
    case Workload::compute:
      return f([&config] {
        leak_per_connection(config.limits.leak_per_connection);
        return ComputeSession(config.limits);
      });
    case Workload::chat: return f([] { return UnsupportedSession(); });
    case Workload::http: break;
  }
  return f([&config] {
    leak_per_connection(config.limits.leak_per_connection);
    return HttpSession(config.http);
  });
}

}  // namespace tvt::protocol
