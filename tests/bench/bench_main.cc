#include "tests/bench/bench_main.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace whalefeed::bench {
namespace {

// Prints as the console reporter does and keeps every run's items per second.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal.
  RatioReporter() : ConsoleReporter(::isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      auto it = run.counters.find("items_per_second");
      if (run.run_type == Run::RT_Iteration && it != run.counters.end()) {
        rates_.emplace_back(run.benchmark_name(), static_cast<double>(it->second));
      }
    }
  }

  void PrintRatios() const {
    double baseline = 0;
    for (const auto& [name, rate] : rates_) {
      if (name.rfind("BM_Baseline", 0) == 0) baseline = rate;
    }
    if (baseline <= 0) return;
    std::printf("\nitems per second, and the ratio to the baseline of this run:\n");
    for (const auto& [name, rate] : rates_) {
      std::printf("  %-48s %12.0f/s  %6.2fx\n", name.c_str(), rate, rate / baseline);
    }
  }

 private:
  std::vector<std::pair<std::string, double>> rates_;
};

}  // namespace

int RunBenchmarksWithRatios(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  reporter.PrintRatios();
  return 0;
}

}  // namespace whalefeed::bench
