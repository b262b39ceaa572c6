#include "micro_main.hpp"

#include <cstring>
#include <vector>

namespace tvt::micro {

std::string benchmark_name(const char* what, std::string_view model, const std::string& more) {
  std::string name = std::string(what) + "/model:" + std::string(model);
  if (!more.empty()) name += "/" + more;
  return name;
}

}  // namespace tvt::micro

int main(int argc, char** argv) {
  tvt::micro::MicroOptions options;
  static char repetitions[] = "--benchmark_repetitions=9";
  static char aggregates[] = "--benchmark_report_aggregates_only=true";
  static char min_time[] = "--benchmark_min_time=0.2";
  std::vector<char*> args{argv[0], repetitions, aggregates, min_time};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) options.smoke = true;
    else args.push_back(argv[i]);
  }
  args.push_back(nullptr);
  int benchmark_argc = static_cast<int>(args.size()) - 1;
  tvt::micro::register_benchmarks(options);
  benchmark::Initialize(&benchmark_argc, args.data());
  if (benchmark::ReportUnrecognizedArguments(benchmark_argc, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
