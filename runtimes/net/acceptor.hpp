#pragma once
// Accepting connections without falling over at the open-file limit.
//
// When accept() fails with EMFILE/ENFILE the pending connection stays in the backlog and the listener stays
// readable: a naive loop spins at 100 % CPU. The acceptor keeps one spare descriptor; on EMFILE it closes the spare,
// accepts the connection, closes it at once (the client sees a clean close) and reopens the spare. The process
// keeps serving its existing connections and accepts normally again as soon as descriptors free up.
#include "net/unique_fd.hpp"

namespace tvt::net {

enum class AcceptStatus {
  accepted,     // `fd` is a new connection (non-blocking iff the acceptor was made so)
  would_block,  // non-blocking listener, nothing pending
  shed,         // out of descriptors: one pending connection was accepted and closed
  failed,       // a resource error (ENOBUFS, ENOMEM, ...); pause before trying again
};

struct AcceptResult {
  AcceptStatus status;
  UniqueFd fd;
};

class Acceptor {
 public:
  // `nonblocking_connections`: accepted sockets get O_NONBLOCK (for the reactor-based back ends).
  // `listen_fd` must be non-blocking: out of descriptors, the acceptor looks at the backlog without its spare.
  Acceptor(int listen_fd, bool nonblocking_connections);

  AcceptResult accept();
  int listen_fd() const { return listen_fd_; }

 private:
  int listen_fd_;
  int accept_flags_;
  UniqueFd spare_;
};

}  // namespace tvt::net
