#pragma once
// Chat with one thread per member (`server --chat-writer inline`), beside blocking/serve_chat.hpp's reader + writer
// pair: the member's own thread reads its commands, and whoever queues bytes for a member (the poster of a group
// message, or the member itself) writes them to the member's socket at once, under the member's lock, without
// blocking (MSG_DONTWAIT). What a socket does not take stays in the member's outbox, under the same drop-and-count
// policy and DROPPED notices as the two-thread design; the member's own thread sends the rest when the socket
// drains (it waits for POLLOUT as well as POLLIN).
//
// Invariants:
// - Every send to a member's socket happens under the member's lock, so writes never interleave; a send never blocks
//   while that lock is held, so a slow consumer never holds up a poster (it loses messages instead, counted).
// - The owner thread waits in ppoll with the wake signal unblocked only there (blocked everywhere else): a poster that
//   leaves bytes behind (EAGAIN) while the owner is not waiting for POLLOUT sends it the signal, which is either
//   taken inside ppoll (EINTR) or left pending until the next ppoll starts, so no wake-up is lost.
// - A member is reachable by posters only while it is in a group; it leaves every group before its thread stops
//   using the socket, so no poster touches a closed fd or signals an exited thread.
#include <chrono>
#include <cstddef>

#include "blocking/chat_hub.hpp"
#include "threads/blocking_socket.hpp"
#include "threads/thread_sync.hpp"

namespace tvt::threads {

using ChatHub = blocking::ChatHub<ThreadSync>;

// Call in the serving thread before it starts any connection thread: installs the wake signal's (empty) handler and
// blocks the signal, so that every connection thread inherits the mask.
void prepare_inline_chat();

// Serves one chat connection on the calling thread until the peer leaves, fails, or breaks a rule (oversized line,
// idle or slowloris timeout, a send stalled for `idle_timeout`); `idle_timeout` 0 = no timeouts.
void serve_chat_inline(BlockingSocket& socket, ChatHub& hub, std::size_t max_line_bytes,
                       std::chrono::milliseconds idle_timeout);

}  // namespace tvt::threads
