#pragma once
// Where the two units of a ping-pong run: on one OS thread (or, for threads, two threads pinned to one core), or on
// two OS threads on two cores.
namespace tvt::micro {

enum class Placement { same_thread, across_threads };

}  // namespace tvt::micro
