#pragma once
// The knob that tests the regression gate (scripts/README.md): `server --added-work N` makes every answered request
// (an http request, an echo line, a compute line) run N more steps of a dependent integer chain before its reply,
// in the sessions here, so every back end gets exactly the same extra work per request: a known slowdown the gate
// must catch. N = 0 (the default) costs one predictable branch and no memory.
#include <cstdint>

namespace tvt::protocol {

inline void added_work(std::uint32_t steps) {
  if (steps == 0) return;
  std::uint64_t x = steps;
  for (std::uint32_t i = 0; i < steps; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;  // each step needs the last: no vectorizing
    asm volatile("" : "+r"(x));  // an opaque use of x: the compiler may neither fold the chain nor drop it
  }
}

}  // namespace tvt::protocol
