#include "sim/world.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/decimal.h"
#include "sim/rng.h"

namespace whalefeed::sim {
namespace {

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 24 * kHour;
constexpr double kTwoPi = 6.283185307179586;

struct Label {
  int id;
  const char* name;
};
constexpr Label kPolitics{1, "Politics"};
constexpr Label kSports{2, "Sports"};
constexpr Label kCrypto{3, "Crypto"};
constexpr Label kEconomy{4, "Economy"};
constexpr Label kTech{5, "Tech"};

const char* const kAssets[] = {"BTC", "ETH", "BNB", "SOL", "XRP", "DOGE", "TON", "ADA"};
const char* const kMonths[] = {"January",   "February", "March",    "April",
                               "May",       "June",     "July",     "August",
                               "September", "October",  "November", "December"};
const char* const kTeams[] = {"Arsenal",   "Real Madrid", "Lakers",    "Celtics",  "Bayern",
                              "Liverpool", "Inter",       "Yankees",   "Dodgers",  "Chiefs",
                              "Eagles",    "Warriors",    "Barcelona", "Juventus", "PSG"};
const char* const kLeagues[] = {"Premier League", "Champions League", "NBA Finals",
                                "World Series",   "Super Bowl",       "Serie A"};
const char* const kCompanies[] = {"Apple",     "OpenAI", "Google", "Tesla",
                                  "Microsoft", "Meta",   "Nvidia"};
const char* const kProducts[] = {"a new flagship model", "smart glasses",   "a foldable phone",
                                 "a humanoid robot",     "a search engine", "an AI agent platform"};
const char* const kCountries[] = {"France", "Japan", "Canada", "Germany",
                                  "Brazil", "India", "Spain"};
const char* const kProjects[] = {"Backpack", "MegaETH", "Monad",     "Berachain",
                                 "Linea",    "Scroll",  "Hyperlane", "Eclipse"};
const char* const kFdvLevels[] = {"$100M", "$250M", "$500M", "$1B", "$2B", "$5B"};
const char* const kFedOutcomes[] = {"Cut 50bp+", "Cut 25bp", "No change", "Hike 25bp+"};
const char* const kBigCaps[] = {"NVIDIA", "Apple", "Microsoft", "Alphabet", "Amazon", "Meta"};
const char* const kCandidates[] = {"Candidate A", "Candidate B", "Candidate C",
                                   "Candidate D", "Candidate E", "Candidate F"};

template <typename T, size_t N>
const T& Pick(Rng& rng, const T (&items)[N]) {
  return items[rng.UniformInt(0, static_cast<int64_t>(N) - 1)];
}

std::string Slugify(absl::string_view title) {
  std::string slug;
  for (char c : title) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      slug.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug;
}

std::string DayText(Rng& rng) {
  return absl::StrCat(Pick(rng, kMonths), " ", rng.UniformInt(1, 28));
}

struct Template {
  std::string title;
  Label label;
  std::string rules;
  std::vector<std::string> options;  // categorical only
};

Template BinaryTemplate(Rng& rng, int year) {
  Template t{"", kCrypto, "", {}};
  switch (rng.UniformInt(0, 4)) {
    case 0: {
      const char* asset = Pick(rng, kAssets);
      t.title = absl::StrFormat("Will %s trade above $%d on %s?", asset,
                                rng.UniformInt(1, 200) * 500, DayText(rng));
      t.label = kCrypto;
      t.rules =
          absl::StrCat("Resolves YES if the ", asset,
                       "/USDT Binance 1-minute candle close at 12:00 UTC on the date is above "
                       "the level. Otherwise NO.");
      break;
    }
    case 1:
      t.title =
          absl::StrFormat("Will %s win the %s %d?", Pick(rng, kTeams), Pick(rng, kLeagues), year);
      t.label = kSports;
      t.rules = "Resolves YES if the team wins the competition named in the title. Otherwise NO.";
      break;
    case 2:
      t.title = absl::StrFormat("Will the Fed cut rates in %s %d?", Pick(rng, kMonths), year);
      t.label = kEconomy;
      t.rules = "Resolves YES if the FOMC lowers the target range at the meeting. Otherwise NO.";
      break;
    case 3:
      t.title = absl::StrFormat("Will %s release %s before %s %d?", Pick(rng, kCompanies),
                                Pick(rng, kProducts), Pick(rng, kMonths), year);
      t.label = kTech;
      t.rules = "Resolves YES on an official public release before the deadline. Otherwise NO.";
      break;
    default:
      t.title = absl::StrFormat("Will %s hold a snap election before %s %d?", Pick(rng, kCountries),
                                Pick(rng, kMonths), year);
      t.label = kPolitics;
      t.rules = "Resolves YES if a national election is held before the deadline. Otherwise NO.";
      break;
  }
  return t;
}

template <size_t N>
std::vector<std::string> FirstOptions(const char* const (&items)[N], int count) {
  std::vector<std::string> out;
  for (size_t i = 0; i < N && out.size() < static_cast<size_t>(count); ++i)
    out.emplace_back(items[i]);
  return out;
}

Template CategoricalTemplate(Rng& rng, int year) {
  Template t{"", kSports, "", {}};
  const int count = static_cast<int>(rng.UniformInt(2, 6));
  switch (rng.UniformInt(0, 4)) {
    case 0: {
      t.title = absl::StrFormat("Who will win the %s %d?", Pick(rng, kLeagues), year);
      t.label = kSports;
      const int64_t first = rng.UniformInt(0, 14);
      for (int i = 0; i < count; ++i) t.options.emplace_back(kTeams[(first + i * 2) % 15]);
      break;
    }
    case 1:
      t.title = absl::StrFormat("%s FDV one day after launch?", Pick(rng, kProjects));
      t.label = kCrypto;
      t.options = FirstOptions(kFdvLevels, count);
      break;
    case 2:
      t.title = absl::StrFormat("Fed decision in %s %d?", Pick(rng, kMonths), year);
      t.label = kEconomy;
      t.options = FirstOptions(kFedOutcomes, count);
      break;
    case 3:
      t.title = absl::StrFormat("Largest company by market cap on %s %d?", DayText(rng), year);
      t.label = kTech;
      t.options = FirstOptions(kBigCaps, count);
      break;
    default:
      t.title =
          absl::StrFormat("Who will win the %s presidential election?", Pick(rng, kCountries));
      t.label = kPolitics;
      t.options = FirstOptions(kCandidates, count);
      break;
  }
  t.rules = "Each option resolves YES if it is the outcome named in the question, otherwise NO.";
  return t;
}

void SetPriceModel(Rng& rng, Market& m) {
  m.base_price_milli = static_cast<int>(rng.UniformInt(40, 960));
  const int room = std::min(m.base_price_milli - 20, 980 - m.base_price_milli);
  m.amplitude_milli = static_cast<int>(rng.UniformInt(0, std::min(150, room)));
  m.period_s = rng.Uniform(0.5, 10.0) * kDay;
  m.phase = rng.Uniform(0, kTwoPi);
}

// A token id as the chain has them: a uniform 256-bit number in decimal (so below 2^256, up to 78
// digits), redrawn in the rare case it has fewer than 71 digits.
std::string TokenId(Rng& rng) {
  for (;;) {
    const uint64_t limbs[4] = {rng.Next(), rng.Next(), rng.Next(), rng.Next()};
    std::string id = Uint256ToDecimal(limbs);
    if (id.size() >= 71) return id;
  }
}

void SetTokens(Rng& rng, Market& m) {
  m.yes_token_id = TokenId(rng);
  m.no_token_id = TokenId(rng);
  m.condition_id = rng.Hex(64);
}

// The length of the part of [from, to) that lies in [lo, hi).
int64_t Overlap(int64_t from, int64_t to, int64_t lo, int64_t hi) {
  return std::max<int64_t>(0, std::min(to, hi) - std::max(from, lo));
}

// The status a market's schedule gives at time x (parents: before their lag).
int ScheduledStatus(const Market& m, int64_t x) {
  if (m.resolved_at > 0 && x >= m.resolved_at) return kStatusResolved;
  if (m.resolved_at > 0 && m.cutoff_at > 0 && x >= m.cutoff_at) return kStatusResolving;
  if (m.status == kStatusResolved || m.status == kStatusResolving) return kStatusActivated;
  return m.status;
}

}  // namespace

absl::string_view MarketStatusName(int status) {
  switch (status) {
    case kStatusCreated:
      return "Created";
    case kStatusActivated:
      return "Activated";
    case kStatusResolving:
      return "Resolving";
    case kStatusResolved:
      return "Resolved";
    case kStatusFailed:
      return "Failed";
    case kStatusDeleted:
      return "Deleted";
    default:
      return "Unknown";
  }
}

absl::StatusOr<std::unique_ptr<World>> World::Generate(const WorldConfig& config) {
  if (config.markets < 1 || config.markets > 100000) {
    return absl::InvalidArgumentError("markets must be in 1..100000");
  }
  if (config.wallets < 1 || config.wallets > 100000) {
    return absl::InvalidArgumentError("wallets must be in 1..100000");
  }
  if (!(config.categorical_fraction >= 0 && config.categorical_fraction <= 1)) {
    return absl::InvalidArgumentError("categorical_fraction must be in [0, 1]");
  }
  if (!(config.trades_per_minute > 0 && config.trades_per_minute <= 100000)) {
    return absl::InvalidArgumentError("trades_per_minute must be in (0, 100000]");
  }
  if (!(config.activity_skew >= 0 && config.activity_skew <= 5)) {
    return absl::InvalidArgumentError("activity_skew must be in [0, 5]");
  }
  if (!(config.new_markets_per_day >= 0 && config.new_markets_per_day <= 1000)) {
    return absl::InvalidArgumentError("new_markets_per_day must be in [0, 1000]");
  }
  if (config.new_market_days < 0 || config.new_market_days > 365) {
    return absl::InvalidArgumentError("new_market_days must be in 0..365");
  }
  auto world = std::unique_ptr<World>(new World(config));
  world->quote_tokens_ = {
      {1, "USDT", "USDT", std::string(kQuoteToken), "0x5F45344126D6488025B0b84A3A8189F2487a7246",
       18, 1735689600, 1000000, 0},
      {2, "USDC", "USDC", "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d",
       "0x3aB2e9Fc0D41A8E6C7b59D02f1E3A4b6c8D9e0F1", 18, 1746057600, 999900, 300},
      {3, "USD1", "USD1", "0x8d0D000Ee44948FC98c9B98A4FA4921476f08B0d",
       "0x7c1E5D8a2B3F4e6A9d0C1b2E3f4A5b6C7d8E9f0A", 18, 1751328000, 1000300, 900},
  };
  world->GenerateMarkets();
  world->GenerateWallets();
  world->IndexTokens();
  return world;
}

void World::GenerateMarkets() {
  Rng rng(MixSeed({config_.seed, 0x6d61726b657473ULL}));  // "markets"
  const int64_t start = config_.start_unix;
  const int year = static_cast<int>(1970 + (start + 180 * kDay) / (365.2425 * kDay));
  absl::flat_hash_set<std::string> slugs;
  int64_t next_id = 100 + rng.UniformInt(0, 50);
  int64_t next_child_id = 10000 + rng.UniformInt(0, 500);

  auto finish_common = [&](Market& m, const Template& t) {
    m.labels = {t.label.name};
    m.label_ids = {t.label.id};
    m.question_id = rng.Hex(64);
    m.slug = Slugify(m.title);
    if (m.slug.empty() || !slugs.insert(m.slug).second) {
      m.slug = absl::StrCat(m.slug, m.slug.empty() ? "" : "-", m.id);
      slugs.insert(m.slug);
    }
    if (!rng.Bernoulli(0.2)) {
      m.thumbnail_url = absl::StrCat("https://images.opinion.trade/sim/thumb-", m.id, ".png");
      m.cover_url = absl::StrCat("https://images.opinion.trade/sim/cover-", m.id, ".png");
    }
    m.resolvable_by_ai = rng.Bernoulli(0.2);
    m.index = static_cast<int>(markets_.size());
  };

  // One top-level market (and its children) created at `created`; `fresh` markets are created after
  // the start: Activated from createdAt, volumes from zero, a cutoff and a resolution ahead.
  auto add_market = [&](int64_t created, bool fresh) {
    const bool categorical = rng.Bernoulli(config_.categorical_fraction);
    const Template t = categorical ? CategoricalTemplate(rng, year) : BinaryTemplate(rng, year);
    Market m;
    m.id = next_id;
    next_id += rng.UniformInt(1, 4);
    m.kind = categorical ? MarketKind::kCategorical : MarketKind::kBinary;
    m.title = t.title;
    m.rules = rng.Bernoulli(0.1) ? "" : t.rules;
    m.created_at = created;
    const double q = rng.Uniform();
    m.quote_token = q < 0.85 ? 0 : q < 0.95 ? 1 : 2;

    if (fresh) {
      m.status = kStatusActivated;
      m.cutoff_at = created + rng.UniformInt(6 * kHour, 20 * kDay);
      m.resolved_at = m.cutoff_at + rng.UniformInt(600, 6 * kHour);
    } else {
      const double u = rng.Uniform();
      m.status = u < 0.04   ? kStatusCreated
                 : u < 0.70 ? kStatusActivated
                 : u < 0.74 ? kStatusResolving
                            : kStatusResolved;
      switch (m.status) {
        case kStatusCreated:
          m.cutoff_at = start + rng.UniformInt(7 * kDay, 180 * kDay);
          break;
        case kStatusActivated: {
          // Some close within the first two days, so that resolutions happen while one watches.
          const double v = rng.Uniform();
          m.cutoff_at = v < 0.15   ? start + rng.UniformInt(600, 2 * kDay)
                        : v < 0.75 ? start + rng.UniformInt(kHour, 120 * kDay)
                                   : 0;
          if (m.cutoff_at > 0) m.resolved_at = m.cutoff_at + rng.UniformInt(600, 6 * kHour);
          break;
        }
        case kStatusResolving:
          m.cutoff_at = start - rng.UniformInt(kHour, 3 * kDay);
          m.resolved_at = start + rng.UniformInt(1800, 2 * kDay);
          break;
        default:
          m.resolved_at = start - rng.UniformInt(kHour, 25 * kDay);
          m.cutoff_at = m.resolved_at - rng.UniformInt(0, 2 * kDay);
          break;
      }
    }
    const bool live = m.status == kStatusActivated;

    auto volumes = [&](Market& target) {
      const double lifetime = std::exp(rng.Uniform(std::log(1e5), std::log(5e8)));
      if (fresh) {
        const int64_t span = std::max<int64_t>(1, target.cutoff_at - target.created_at);
        target.volume_rate = lifetime / static_cast<double>(span);
        return;
      }
      target.volume_centi = static_cast<int64_t>(lifetime);
      target.volume7d_centi =
          live ? static_cast<int64_t>(target.volume_centi * rng.Uniform(0.02, 0.4)) : 0;
      target.volume24h_centi =
          live ? static_cast<int64_t>(target.volume7d_centi * rng.Uniform(0.05, 0.3)) : 0;
      target.volume_rate = static_cast<double>(target.volume24h_centi) / kDay;
    };

    if (!categorical) {
      m.yes_label = "Yes";
      m.no_label = "No";
      SetTokens(rng, m);
      SetPriceModel(rng, m);
      volumes(m);
      const bool yes_wins = rng.Bernoulli(0.5);
      if (m.resolved_at > 0) m.result_token_id = yes_wins ? m.yes_token_id : m.no_token_id;
      m.tradeable = live;
      finish_common(m, t);
      market_by_id_[m.id] = m.index;
      top_level_.push_back(m.index);
      if (m.tradeable) tradeable_.push_back(m.index);
      markets_.push_back(std::move(m));
      return;
    }

    // A categorical parent: no tokens of its own; the options are binary children.
    finish_common(m, t);
    const int parent_index = m.index;
    market_by_id_[m.id] = parent_index;
    top_level_.push_back(parent_index);
    const int actual_status = m.status;
    // Quirk: a parent's status can lag behind its children: some resolved parents still show
    // Created, some others follow their children a few hours late.
    if (actual_status == kStatusResolved && rng.Bernoulli(0.3)) {
      m.status = kStatusCreated;
      m.status_frozen = true;
    } else if (rng.Bernoulli(0.3)) {
      m.status_lag_s = rng.UniformInt(1800, 3 * kHour);
    }
    markets_.push_back(std::move(m));

    const int winner =
        static_cast<int>(rng.UniformInt(0, static_cast<int64_t>(t.options.size()) - 1));
    for (size_t j = 0; j < t.options.size(); ++j) {
      const Market& parent = markets_[parent_index];
      Market c;
      c.kind = MarketKind::kChild;
      c.parent = parent_index;
      c.id = next_child_id;
      next_child_id += rng.UniformInt(1, 3);
      c.title = t.options[j];
      c.rules = parent.rules;
      c.yes_label = "Yes";
      c.no_label = "No";
      c.quote_token = parent.quote_token;
      // Children of a new market are listed with it (which keeps tradeable() in listing order).
      c.created_at = parent.created_at + (fresh ? 0 : static_cast<int64_t>(j) + 1);
      c.cutoff_at = parent.cutoff_at;
      c.resolved_at = parent.resolved_at;
      c.status = actual_status;
      SetTokens(rng, c);
      SetPriceModel(rng, c);
      const bool wins = static_cast<int>(j) == winner;
      if (c.resolved_at > 0) c.result_token_id = wins ? c.yes_token_id : c.no_token_id;
      if (live && !fresh && !wins && rng.Bernoulli(0.2)) {
        // An option ruled out early.
        c.status = kStatusResolved;
        c.resolved_at = start - rng.UniformInt(kHour, 20 * kDay);
        c.result_token_id = c.no_token_id;
      }
      volumes(c);
      c.tradeable = c.status == kStatusActivated;
      finish_common(c, t);
      market_by_id_[c.id] = c.index;
      markets_[parent_index].children.push_back(c.index);
      if (c.tradeable) tradeable_.push_back(c.index);
      markets_.push_back(std::move(c));
    }
    Market& parent = markets_[parent_index];
    for (int child : parent.children) {
      parent.volume_centi += markets_[child].volume_centi;
      parent.volume24h_centi += markets_[child].volume24h_centi;
      parent.volume7d_centi += markets_[child].volume7d_centi;
    }
  };

  for (int i = 0; i < config_.markets; ++i) {
    add_market(start - rng.UniformInt(31 * kDay, 400 * kDay), /*fresh=*/false);
  }
  // Markets created after the start, in id order.
  const int64_t fresh_count = std::llround(config_.new_markets_per_day * config_.new_market_days);
  std::vector<int64_t> times;
  for (int64_t i = 0; i < fresh_count; ++i) {
    times.push_back(start +
                    rng.UniformInt(1, std::max<int64_t>(1, config_.new_market_days * kDay)));
  }
  std::sort(times.begin(), times.end());
  for (int64_t created : times) add_market(created, /*fresh=*/true);
}

void World::IndexTokens() {
  for (const Market& m : markets_) {
    if (!m.yes_token_id.empty()) market_by_token_[m.yes_token_id] = {m.index, 1};
    if (!m.no_token_id.empty()) market_by_token_[m.no_token_id] = {m.index, 2};
  }
}

std::pair<int, int> World::FindToken(absl::string_view token_id) const {
  auto it = market_by_token_.find(token_id);
  return it == market_by_token_.end() ? std::make_pair(-1, 0) : it->second;
}

MarketState World::LeafStateAt(const Market& m, int64_t t) const {
  const int64_t start = config_.start_unix;
  MarketState s;
  s.listed = m.created_at <= t;
  s.status = ScheduledStatus(m, t);
  if (s.status == kStatusResolved && m.resolved_at > 0) {
    s.resolved_at = m.resolved_at;
    s.result_token_id = m.result_token_id;
  }
  // Trading (and so volume) runs from createdAt until the cutoff or the resolution.
  const int64_t lo = m.created_at;
  int64_t hi = m.cutoff_at > 0 ? m.cutoff_at : std::numeric_limits<int64_t>::max();
  if (m.resolved_at > 0) hi = std::min(hi, m.resolved_at);
  const double rate = m.volume_rate;
  const double rate7 = static_cast<double>(m.volume7d_centi) / (7 * kDay);
  s.volume_centi = m.volume_centi + static_cast<int64_t>(rate * Overlap(start, t, lo, hi));
  s.volume24h_centi = static_cast<int64_t>(rate * Overlap(t - kDay, t, lo, hi));
  s.volume7d_centi =
      static_cast<int64_t>(rate7 * Overlap(t - 7 * kDay, std::min(t, start), lo, hi) +
                           rate * Overlap(std::max(t - 7 * kDay, start), t, lo, hi));
  return s;
}

MarketState World::StateAt(const Market& m, int64_t t) const {
  if (m.kind != MarketKind::kCategorical) return LeafStateAt(m, t);
  MarketState s;
  s.listed = m.created_at <= t;
  const int64_t shown = t - m.status_lag_s;
  s.status = m.status_frozen ? m.status : ScheduledStatus(m, shown);
  if (m.resolved_at > 0 && shown >= m.resolved_at) s.resolved_at = m.resolved_at;
  for (int child : m.children) {
    const MarketState c = LeafStateAt(markets_[child], t);
    s.volume_centi += c.volume_centi;
    s.volume24h_centi += c.volume24h_centi;
    s.volume7d_centi += c.volume7d_centi;
  }
  return s;
}

int World::ListedTradeableCount(int64_t t) const {
  const int64_t start = config_.start_unix;
  return static_cast<int>(
      std::partition_point(
          tradeable_.begin(), tradeable_.end(),
          [&](int index) { return std::max(markets_[index].created_at, start) <= t; }) -
      tradeable_.begin());
}

bool World::TradeableAt(const Market& m, int64_t t) const {
  return m.tradeable && m.created_at <= t && ScheduledStatus(m, t) == kStatusActivated &&
         (m.cutoff_at == 0 || t < m.cutoff_at);
}

void World::GenerateWallets() {
  Rng rng(MixSeed({config_.seed, 0x77616c6c657473ULL}));  // "wallets"
  double total_weight = 0;
  for (int rank = 1; rank <= config_.wallets; ++rank) {
    total_weight += std::pow(rank, -config_.activity_skew);
  }
  const double events_per_second = config_.trades_per_minute / 60.0;
  // Favourites are drawn from the markets that trade at the start.
  std::vector<int> at_start;
  for (int index : tradeable_) {
    if (markets_[index].created_at <= config_.start_unix) at_start.push_back(index);
  }
  for (int rank = 1; rank <= config_.wallets; ++rank) {
    Wallet w;
    do {
      w.address = absl::StrCat("0x", rng.Hex(40));
    } while (wallet_by_address_.contains(w.address));
    w.rank = rank;
    w.label = absl::StrFormat("whale-%03d", rank);
    w.trades_per_second = events_per_second * std::pow(rank, -config_.activity_skew) / total_weight;
    // Trade sizes are heavy-tailed too, independently of activity: a few wallets trade $10k+
    // tickets.
    w.size_scale_centi = static_cast<int64_t>(std::min(rng.Pareto(2000, 0.8), 5e7));
    if (!at_start.empty()) {
      const int favourites = static_cast<int>(rng.UniformInt(2, 12));
      for (int i = 0; i < favourites; ++i) {
        w.favourite_markets.push_back(at_start[rng.UniformInt(0, at_start.size() - 1)]);
      }
    }
    w.stream_seed = MixSeed({config_.seed, 0x747261646573ULL, static_cast<uint64_t>(rank)});
    wallet_by_address_[w.address] = rank - 1;
    wallets_.push_back(std::move(w));
  }
}

const Market* World::FindMarket(int64_t id) const {
  auto it = market_by_id_.find(id);
  return it == market_by_id_.end() ? nullptr : &markets_[it->second];
}

int World::FindWallet(absl::string_view address) const {
  auto it = wallet_by_address_.find(absl::AsciiStrToLower(address));
  return it == wallet_by_address_.end() ? -1 : it->second;
}

int World::PriceMilli(const Market& market, int outcome_side, int64_t t) const {
  const double x = static_cast<double>(t - config_.start_unix) / market.period_s;
  int yes =
      market.base_price_milli +
      static_cast<int>(std::lround(market.amplitude_milli * std::sin(kTwoPi * x + market.phase)));
  yes = std::clamp(yes, 10, 990);
  return outcome_side == 1 ? yes : 1000 - yes;
}

}  // namespace whalefeed::sim
