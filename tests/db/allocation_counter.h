// Counts every allocation of the test program it is linked into (it replaces the global operator
// new), so that a test can check that a path allocates nothing.
#ifndef WHALEFEED_TESTS_DB_ALLOCATION_COUNTER_H_
#define WHALEFEED_TESTS_DB_ALLOCATION_COUNTER_H_

#include <cstdint>

namespace whalefeed::testing {

// How many times operator new has been called so far, on any thread.
int64_t AllocationCount();

}  // namespace whalefeed::testing

#endif  // WHALEFEED_TESTS_DB_ALLOCATION_COUNTER_H_
