#include "server/convert.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace whalefeed::server {
namespace {

// The store's enums share the API's numbering (db/store.h); these keep the two from drifting.
static_assert(static_cast<int>(db::MarketStatus::kDeleted) == v1::MARKET_STATUS_DELETED);
static_assert(static_cast<int>(db::MarketType::kCategorical) == v1::MARKET_TYPE_CATEGORICAL);
static_assert(static_cast<int>(db::WhaleSource::kApi) == v1::WHALE_SOURCE_API);
static_assert(static_cast<int>(db::Side::kSplit) == v1::SIDE_SPLIT);
static_assert(static_cast<int>(db::Outcome::kNo) == v1::OUTCOME_NO);
static_assert(static_cast<int>(db::Origin::kBackfill) == v1::ORIGIN_BACKFILL);
static_assert(static_cast<int>(db::StatsWindow::kAll) == v1::STATS_WINDOW_ALL);

// google/protobuf/timestamp.proto: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// google/protobuf/duration.proto: about +-10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;

}  // namespace

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  if (time == absl::InfinitePast() || time == absl::InfiniteFuture()) {
    out->Clear();
    return;
  }
  const int64_t micros = absl::ToUnixMicros(time);
  int64_t seconds = micros / 1000000;
  int64_t sub_micros = micros % 1000000;
  if (sub_micros < 0) {
    sub_micros += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(sub_micros * 1000));
}

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& timestamp,
                                         absl::string_view field) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return absl::InfinitePast();
  if (timestamp.seconds() < kMinTimestampSeconds || timestamp.seconds() > kMaxTimestampSeconds ||
      timestamp.nanos() < 0 || timestamp.nanos() >= 1000000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": timestamp out of range (seconds ", timestamp.seconds(), ", nanos ",
        timestamp.nanos(), "); valid from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"));
  }
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

void SetDuration(absl::Duration duration, google::protobuf::Duration* out) {
  const int64_t seconds = absl::IDivDuration(duration, absl::Seconds(1), &duration);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
}

absl::StatusOr<absl::Duration> DurationFromProto(const google::protobuf::Duration& duration,
                                                 absl::string_view field) {
  const int64_t seconds = duration.seconds();
  const int32_t nanos = duration.nanos();
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds || nanos <= -1000000000 ||
      nanos >= 1000000000 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": invalid duration (seconds ", seconds, ", nanos ", nanos, ")"));
  }
  return absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

void ToProto(const db::Market& market, absl::string_view whale_volume_24h, v1::Market* out) {
  out->set_market_id(market.market_id);
  out->set_parent_market_id(market.parent_market_id);
  out->set_title(market.title);
  out->set_status(static_cast<v1::MarketStatus>(market.status));
  out->set_market_type(static_cast<v1::MarketType>(market.market_type));
  out->set_yes_label(market.yes_label);
  out->set_no_label(market.no_label);
  out->set_yes_token_id(market.yes_token_id);
  out->set_no_token_id(market.no_token_id);
  out->set_condition_id(market.condition_id);
  out->set_result_token_id(market.result_token_id);
  out->set_volume(market.volume);
  out->set_volume_24h(market.volume_24h);
  out->set_volume_7d(market.volume_7d);
  out->set_whale_volume_24h(std::string(whale_volume_24h.empty() ? "0" : whale_volume_24h));
  for (const std::string& label : market.labels) out->add_labels(label);
  out->set_slug(market.slug);
  out->set_rules(market.rules);
  SetTimeField(market.created_time, out, &v1::Market::mutable_created_time);
  SetTimeField(market.cutoff_time, out, &v1::Market::mutable_cutoff_time);
  SetTimeField(market.resolved_time, out, &v1::Market::mutable_resolved_time);
  SetTimeField(market.synced_time, out, &v1::Market::mutable_synced_time);
  SetTimeField(market.updated_time, out, &v1::Market::mutable_updated_time);
}

void ToProto(const db::WhaleStats& stats, v1::WhaleStats* out) {
  out->set_window(static_cast<v1::StatsWindow>(stats.window));
  out->set_volume_usd(stats.volume_usd);
  out->set_buy_volume_usd(stats.buy_volume_usd);
  out->set_sell_volume_usd(stats.sell_volume_usd);
  out->set_realized_profit_usd(stats.realized_profit_usd);
  out->set_largest_trade_usd(stats.largest_trade_usd);
  out->set_average_trade_usd(stats.average_trade_usd);
  out->set_trade_count(stats.trade_count);
  out->set_markets_traded(stats.markets_traded);
  SetTimeField(stats.first_trade_time, out, &v1::WhaleStats::mutable_first_trade_time);
  SetTimeField(stats.last_trade_time, out, &v1::WhaleStats::mutable_last_trade_time);
  out->set_rank(stats.rank);
  SetTimeField(stats.computed_time, out, &v1::WhaleStats::mutable_computed_time);
}

void ToProto(const db::Whale& whale, v1::Whale* out) {
  out->set_wallet(whale.wallet);
  out->set_label(whale.label);
  out->set_source(static_cast<v1::WhaleSource>(whale.source));
  out->set_tracked(whale.tracked);
  SetTimeField(whale.tracked_since, out, &v1::Whale::mutable_tracked_since);
  SetTimeField(whale.last_polled_time, out, &v1::Whale::mutable_last_polled_time);
  SetTimeField(whale.next_poll_time, out, &v1::Whale::mutable_next_poll_time);
  out->set_trades_seen(whale.trades_seen);
}

void ToProto(const db::Activity& activity, absl::string_view wallet_label, v1::WhaleActivity* out) {
  out->set_sequence(activity.sequence);
  out->set_activity_id(activity.activity_id);
  out->set_tx_hash(activity.tx_hash);
  out->set_wallet(activity.wallet);
  out->set_market_id(activity.market_id);
  out->set_root_market_id(activity.root_market_id);
  out->set_market_title(activity.market_title);
  out->set_root_market_title(activity.root_market_title);
  out->set_side(static_cast<v1::Side>(activity.side));
  out->set_outcome(static_cast<v1::Outcome>(activity.outcome));
  out->set_outcome_label(activity.outcome_label);
  out->set_price(activity.price);
  out->set_shares(activity.shares);
  out->set_amount_usd(activity.amount_usd);
  out->set_fee_usd(activity.fee_usd);
  out->set_profit_usd(activity.profit_usd);
  SetTimeField(activity.traded_time, out, &v1::WhaleActivity::mutable_traded_time);
  SetTimeField(activity.ingested_time, out, &v1::WhaleActivity::mutable_ingested_time);
  out->set_origin(static_cast<v1::Origin>(activity.origin));
  out->set_wallet_label(std::string(wallet_label));
}

}  // namespace whalefeed::server
