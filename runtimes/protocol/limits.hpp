#pragma once
// Size limits shared by every workload; the server's options set them, the tests shrink them.
#include <cstddef>
#include <cstdint>

namespace tvt::protocol {

struct Limits {
  std::size_t max_line_bytes = 64 * 1024;     // echo/chat/compute: a longer line closes the connection
  std::size_t max_header_bytes = 8 * 1024;    // http: request line + header fields, else 431
  std::size_t max_header_fields = 100;        // http: else 431
  std::size_t http_body_bytes = 13;           // http: size of the fixed 200 body ("Hello, World!")
  std::size_t chat_outbox_bytes = 256 * 1024; // chat: bytes queued per connection before messages are dropped
  std::uint32_t added_work = 0;               // http, echo, compute: extra work per request (added_work.hpp)
  std::size_t leak_per_connection = 0;        // http, echo, compute: bytes leaked per session, test-only (leak.hpp)
};

}  // namespace tvt::protocol
