#pragma once
// Helpers for the bytes a session holds between reads. Memory per idle connection is what the suite measures, so a
// session drops its heap buffer as soon as it holds no partial request.
#include <string>

namespace tvt::protocol {

// Empties `s` and gives its heap block back: clear() would keep the capacity of the largest request ever seen.
inline void release(std::string& s) { std::string().swap(s); }

}  // namespace tvt::protocol
