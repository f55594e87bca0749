// Deterministic pseudo-random numbers for the simulator.
//
// The simulator promises "same seed, same data". std:: distributions are implementation-defined and
// absl::BitGen is deliberately non-reproducible, so the simulator uses its own small generator
// (xoshiro256** seeded through splitmix64) and its own distributions, all defined here.
#ifndef WHALEFEED_SIM_RNG_H_
#define WHALEFEED_SIM_RNG_H_

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace whalefeed::sim {

// The splitmix64 finaliser: a cheap, well-mixing bijection on 64-bit values.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Hashes a few values into one seed, order-sensitively.
inline uint64_t MixSeed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x6a09e667f3bcc908ULL;
  for (uint64_t p : parts) h = Mix64(h ^ Mix64(p));
  return h;
}

// Not thread-safe: each user owns its generator.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      s = Mix64(seed);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

  // Uniform integer in [lo, hi] (inclusive). Requires lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span == 0) return static_cast<int64_t>(Next());  // the full 64-bit range
    const unsigned __int128 product = static_cast<unsigned __int128>(Next()) * span;
    return lo + static_cast<int64_t>(product >> 64);
  }

  bool Bernoulli(double p) { return Uniform() < p; }

  // Exponential with the given rate (mean 1/rate).
  double Exponential(double rate) { return -std::log1p(-Uniform()) / rate; }

  // Standard normal (Box-Muller; no cached second value, so the stream stays easy to reason about).
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  double LogNormal(double mu, double sigma) { return std::exp(mu + sigma * Normal()); }

  // Pareto with scale xm and shape alpha (heavy right tail for alpha close to 1).
  double Pareto(double xm, double alpha) { return xm / std::pow(1.0 - Uniform(), 1.0 / alpha); }

  // `n` lower-case hex digits.
  std::string Hex(int n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(n, '0');
    for (char& c : out) c = kHex[Next() & 0xf];
    return out;
  }

  // `n` decimal digits, the first one non-zero.
  std::string Digits(int n) {
    std::string out(n, '0');
    for (int i = 0; i < n; ++i) {
      out[i] = static_cast<char>('0' + (i == 0 ? UniformInt(1, 9) : UniformInt(0, 9)));
    }
    return out;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4];
};

}  // namespace whalefeed::sim

#endif  // WHALEFEED_SIM_RNG_H_
