// opinion-sim's ground truth (GET /admin/trades) and the comparison of stored activity with it:
// every trade the simulator made visible is stored exactly once, with its exact amount and time,
// and nothing else is stored. Shared by the sync tests that drive the upstream client in-process
// and the end-to-end tests that drive the whaled binary.
#ifndef WHALEFEED_TESTS_TESTING_SIM_GROUND_TRUTH_H_
#define WHALEFEED_TESTS_TESTING_SIM_GROUND_TRUTH_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/store.h"

namespace whalefeed::testing {

// The natural key of a trade, as the store dedupes on it: tx hash, market id, outcome, side,
// shares and price (decimals in canonical form).
using TradeKey = std::tuple<std::string, int64_t, int, int, std::string, std::string>;

TradeKey KeyOf(const db::Activity& activity);

// One trade as the simulator served it.
struct SimTrade {
  db::Side side = db::Side::kUnspecified;
  std::string amount_usd;  // canonical: amount * quoteTokenUsdPrice
  absl::Time traded;
  int64_t appeared = 0;  // when the simulator made it visible (Unix s, simulated time)
};

using SimTrades = std::map<TradeKey, SimTrade>;

// The trades of `wallet` the simulator listening on 127.0.0.1:`port` has made visible so far
// (GET /admin/trades), by natural key. An error when the simulator does not answer, answers
// something that is not the expected JSON, or lists one trade twice.
absl::StatusOr<SimTrades> FetchSimTrades(int port, const std::string& wallet);

// A canonical decimal as an exact count of 10^-18 units.
__int128 DecimalUnits(const std::string& canonical);

// How the activities stored for one wallet differ from what the simulator served.
struct TradeDiff {
  int64_t stored = 0;                 // rows of the wallet
  int64_t expected = 0;               // trades served
  int64_t missing = 0;                // served, never stored
  int64_t duplicated = 0;             // stored more than once
  int64_t unexpected = 0;             // stored, never served
  int64_t wrong = 0;                  // stored with another amount or trade time than served
  std::vector<std::string> examples;  // the first few differences, for the failure message

  bool empty() const { return missing == 0 && duplicated == 0 && unexpected == 0 && wrong == 0; }
  std::string ToString() const;
};

// Compares the activities of `wallet` among `stored` (rows of other wallets are ignored) with
// `expected`.
TradeDiff CompareWithSim(const std::vector<db::Activity>& stored, const std::string& wallet,
                         const SimTrades& expected);

}  // namespace whalefeed::testing

#endif  // WHALEFEED_TESTS_TESTING_SIM_GROUND_TRUTH_H_
