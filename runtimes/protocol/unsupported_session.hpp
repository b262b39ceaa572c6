#pragma once
// The session a back end gets for a workload it does not serve through the Session interface (chat, before the back
// end has a hub): it answers ERR and closes, so that a misconfiguration shows up at the client and in the server's
// log instead of crashing the server.
#include <string>
#include <string_view>

#include "protocol/session.hpp"

namespace tvt::protocol {

class UnsupportedSession {
 public:
  Verdict consume(std::string_view, std::string& out) {
    out.append("ERR workload not served by this back end\n");
    return Verdict::close;
  }
  std::string_view close_reason() const { return "workload not served by this back end"; }
  bool has_partial() const { return false; }
};
static_assert(Session<UnsupportedSession>);

}  // namespace tvt::protocol
