#pragma once
// The client side of every workload behind one interface, chosen once per engine thread, as
// protocol::with_session_factory chooses a server's session type: the engine's loop is compiled once per codec and
// never switches on the workload per byte.
//
// A codec belongs to one engine thread and is built from the run's EngineConfig and the thread's slot range.
// `Codec::Conn` is what it keeps per connection (a reply verifier, a partial line); the engine holds one in every
// connection and never looks inside.
//   request_reply == true (http, echo, compute): one request out, one verified reply back.
//     Outgoing request(Conn&, slot, sequence, char* send_buffer)
//     FeedResult feed(Conn&, const char* data, std::size_t size)
//     sized_requests: requests come in two sizes with a latency histogram each (HistKind::small / large).
//   request_reply == false (chat): the connection JOINs, posts on a schedule and receives at any time.
//     Outgoing join(slot, send_buffer); Outgoing post(slot, sequence, due_ns, send_buffer)
//     bool feed(Conn&, slot, data, size, sink)   -- sink.joined(), sink.delivered(due_ns, duplicate),
//                                                   sink.dropped_by_policy(n); false: a bad or unexpected line
#include "loadgen/codec_chat.hpp"
#include "loadgen/codec_compute.hpp"
#include "loadgen/codec_echo.hpp"
#include "loadgen/codec_http.hpp"
#include "loadgen/engine_config.hpp"
#include "protocol/workload.hpp"

namespace tvt::loadgen {

// Calls f(codec) with the codec of the configured workload, constructed for slots [slot_begin, slot_end).
template <class F>
decltype(auto) with_client_codec(const EngineConfig& config, std::uint32_t slot_begin, std::uint32_t slot_end, F&& f) {
  switch (config.options.workload) {
    case protocol::Workload::echo: return f(EchoCodec(config, slot_begin, slot_end));
    case protocol::Workload::compute: return f(ComputeCodec(config, slot_begin, slot_end));
    case protocol::Workload::chat: return f(ChatCodec(config, slot_begin, slot_end));
    case protocol::Workload::http: break;
  }
  return f(HttpCodec(config, slot_begin, slot_end));
}

}  // namespace tvt::loadgen
