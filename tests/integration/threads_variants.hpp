#pragma once
// The threads back end's variants (issue 20) as test parameters: the back-end name, then the variant's server
// arguments, one word each (the ServerProcess helpers split them). The hostile and chat suites run every variant
// beside the plain back ends, so an option cannot skip a rule the others keep. bench_all runs the same variants as
// rows (bench/bench_all/profiles.py, THREADS_VARIANTS).
#include <string>
#include <vector>

namespace tvt {

inline std::vector<std::string> threads_variant_params() {
  return {"threads --stack-size 65536", "threads --thread-cache 64", "threads --chat-writer inline"};
}

}  // namespace tvt
