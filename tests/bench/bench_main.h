// A main() for the project's benchmarks: runs them with Google Benchmark's console output, then
// prints each benchmark's items per second as a ratio to the one whose name starts with
// "BM_Baseline", measured in the same run on the same machine (absolute figures move with the
// machine; ratios much less).
#ifndef WHALEFEED_TESTS_BENCH_BENCH_MAIN_H_
#define WHALEFEED_TESTS_BENCH_BENCH_MAIN_H_

namespace whalefeed::bench {

// Runs the registered benchmarks and prints the ratios; returns main's exit code.
int RunBenchmarksWithRatios(int argc, char** argv);

}  // namespace whalefeed::bench

#endif  // WHALEFEED_TESTS_BENCH_BENCH_MAIN_H_
