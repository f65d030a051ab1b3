#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "Error.h"
#include "SamplerExp.h"

namespace rwkv5 {

namespace {

// Buckets of float32 exp(logit - max) by bits >> 16 (exponent and 7 mantissa
// bits), as Nucleus.ts: the exponentials are in [0, 1], below 2^15 buckets.
constexpr int32_t kBucketCount = 1 << 15;
constexpr int kBucketShift = 16;
constexpr int kMaxDigitBits = 12;
constexpr int32_t kInsertionSortLimit = 48;

inline uint32_t bits_of(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

inline float float_of(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

[[noreturn]] void invalid(const std::string &message) { throw Error(RWKV5_ERR_INVALID_ARGUMENT, message); }

}  // namespace

void check_sampling_params(const rwkv5_sampling_params &p, int32_t n_vocab, const std::string &where) {
    if (!(std::isfinite(p.temperature) && p.temperature >= 0))
        invalid(where + "temperature must be finite and >= 0, got " + std::to_string(p.temperature));
    if (!(p.top_p >= 0 && p.top_p <= 1)) invalid(where + "top_p must be in [0, 1], got " + std::to_string(p.top_p));
    if (p.top_k < 0) invalid(where + "top_k must be >= 0, got " + std::to_string(p.top_k));
    if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty))
        invalid(where + "the presence and frequency penalties must be finite");
    if (!(p.penalty_decay >= 0 && p.penalty_decay <= 1))
        invalid(where + "penalty_decay must be in [0, 1], got " + std::to_string(p.penalty_decay));
    if (!(p.uniform >= 0 && p.uniform < 1)) invalid(where + "uniform must be in [0, 1), got " + std::to_string(p.uniform));
    auto check_ids = [&](const int32_t *ids, int32_t n, const char *what) {
        if (n < 0 || (n > 0 && !ids)) invalid(where + what + " list is missing or has a negative length");
        for (int32_t i = 0; i < n; ++i)
            if (ids[i] < 0 || ids[i] >= n_vocab)
                invalid(where + what + " id " + std::to_string(ids[i]) + " is out of range [0, " + std::to_string(n_vocab) + ")");
    };
    check_ids(p.banned, p.n_banned, "banned");
    check_ids(p.uncounted, p.n_uncounted, "uncounted");
}

void PenaltyCounts::apply(float *logits, double presence, double frequency) const {
    for (size_t i = 0; i < ids_.size(); ++i) {
        const double penalty = presence + counts_[i] * frequency;
        logits[ids_[i]] = float(double(logits[ids_[i]]) - penalty);
    }
}

void PenaltyCounts::accept(int32_t token, double decay, double weight) {
    size_t found = ids_.size();
    for (size_t i = 0; i < ids_.size(); ++i) {
        counts_[i] *= decay;
        if (ids_[i] == token) found = i;
    }
    if (found == ids_.size()) {
        ids_.push_back(token);
        counts_.push_back(0);
    }
    counts_[found] += weight;
}

bool PenaltyCounts::uncounted(const rwkv5_sampling_params &p, int32_t token) {
    return std::find(p.uncounted, p.uncounted + p.n_uncounted, token) != p.uncounted + p.n_uncounted;
}

HostSampler::HostSampler(int32_t n_vocab)
    : n_vocab_(n_vocab),
      work_(size_t(n_vocab)),
      exps_(size_t(n_vocab)),
      exps64_(size_t(n_vocab)),
      ids_(size_t(n_vocab)),
      spare_ids_(size_t(n_vocab)),
      probs_(size_t(n_vocab)),
      spare_probs_(size_t(n_vocab)),
      mass_(size_t(kBucketCount), 0.0),
      digit_counts_(size_t(1) << kMaxDigitBits),
      weights_(size_t(n_vocab)) {}

int32_t HostSampler::sample(const float *logits, const rwkv5_sampling_params &p, PenaltyCounts &counts) {
    if (p.new_reply) counts.clear();
    std::memcpy(work_.data(), logits, size_t(n_vocab_) * 4);
    counts.apply(work_.data(), p.presence_penalty, p.frequency_penalty);
    for (int32_t i = 0; i < p.n_banned; ++i) work_[size_t(p.banned[i])] = -std::numeric_limits<float>::infinity();
    int32_t token = 0;
    if (p.temperature == 0) {
        for (int32_t i = 1; i < n_vocab_; ++i)
            if (work_[size_t(i)] > work_[size_t(token)]) token = i;
    } else {
        token = draw(p);
    }
    counts.accept(token, p.penalty_decay, PenaltyCounts::uncounted(p, token) ? 0.0 : 1.0);
    return token;
}

// Sampler.sample's draw: one uniform, the same subtractions in the same order.
int32_t HostSampler::draw(const rwkv5_sampling_params &p) {
    const int32_t count = select(float(p.top_p), p.top_k);
    double total = 0;
    for (int32_t i = 0; i < count; ++i) {
        const double pr = probs_[size_t(i)];
        const double w = p.temperature == 1 ? pr : double(float(std::pow(pr, 1 / p.temperature)));
        weights_[size_t(i)] = w;
        total += w;
    }
    // Rounding can leave u >= 0 after the last subtraction: the least likely
    // id with any weight, never a banned one kept by a top-p of 1.
    int32_t last = count - 1;
    while (last > 0 && weights_[size_t(last)] == 0) --last;
    double u = p.uniform;
    for (int32_t i = 0; i < count; ++i) {
        u -= weights_[size_t(i)] / total;
        if (u < 0) return ids_[size_t(i)];
    }
    return ids_[size_t(last)];
}

int32_t HostSampler::select(float top_p, int32_t top_k) {
    const double sum = exponentiate();
    int32_t bucket = floor_bucket(double(top_p) * sum);
    int32_t count = 0;
    for (;;) {
        const int32_t candidates = gather(bucket, sum);
        sort(candidates);
        const int32_t kept = cut(candidates, top_p);
        if (kept > 0 || bucket == 0) {
            // A float32 sum of everything just under a top-p near 1 keeps all.
            count = kept > 0 ? kept : candidates;
            break;
        }
        do --bucket;
        while (bucket > 0 && mass_[size_t(bucket)] == 0);
    }
    std::fill(mass_.begin() + low_bucket_, mass_.begin() + high_bucket_ + 1, 0.0);
    return top_k > 0 && top_k < count ? top_k : count;
}

// Every float32 exp(logit - max) and the mass of its bucket; returns their
// (unrounded) sum.
double HostSampler::exponentiate() {
    const float *w = work_.data();
    float max = w[0];
    for (int32_t i = 1; i < n_vocab_; ++i) max = w[i] > max ? w[i] : max;
    const double sum = exp_shifted(w, n_vocab_, max, exps_.data(), exps64_.data());
    int32_t low = kBucketCount, high = 0;
    for (int32_t i = 0; i < n_vocab_; ++i) {
        const int32_t b = int32_t((bits_of(exps_[size_t(i)]) >> kBucketShift) & (kBucketCount - 1));
        mass_[size_t(b)] += exps64_[size_t(i)];
        low = std::min(low, b);
        high = std::max(high, b);
    }
    low_bucket_ = low;
    high_bucket_ = high;
    return sum;
}

// The highest non-empty bucket whose mass and the mass above reach `target`;
// 0 (everything) if none does.
int32_t HostSampler::floor_bucket(double target) const {
    double total = 0;
    for (int32_t b = high_bucket_; b > 0; --b) {
        const double m = mass_[size_t(b)];
        total += m;
        if (m > 0 && total >= target) return b;
    }
    return 0;
}

// In id order, every id whose probability is at least that of the lowest
// exponential of `bucket` (all ids for bucket 0).
int32_t HostSampler::gather(int32_t bucket, double sum) {
    if (bucket == 0) {
        for (int32_t i = 0; i < n_vocab_; ++i) {
            ids_[size_t(i)] = i;
            probs_[size_t(i)] = float(double(exps_[size_t(i)]) / sum);
        }
        return n_vocab_;
    }
    const float lowest = float_of(uint32_t(bucket) << kBucketShift);
    const float floor = float(double(lowest) / sum);
    // float32 rounds within 2^-24: an exponential 2^-20 below the bucket
    // cannot reach the floor, so most ids are passed over without a division.
    const double hopeless = floor >= 0x1p-100f ? double(lowest) * (1 - 0x1p-20) : 0;
    int32_t count = 0;
    for (int32_t i = 0; i < n_vocab_; ++i) {
        const double e = exps_[size_t(i)];
        if (e < hopeless) continue;
        const float p = float(e / sum);
        if (p >= floor) {
            ids_[size_t(count)] = i;
            probs_[size_t(count)] = p;
            ++count;
        }
    }
    return count;
}

// By probability descending, id order among ties (stable).
void HostSampler::sort(int32_t count) {
    if (count <= kInsertionSortLimit) {
        for (int32_t i = 1; i < count; ++i) {
            const int32_t id = ids_[size_t(i)];
            const float p = probs_[size_t(i)];
            int32_t j = i - 1;
            for (; j >= 0 && probs_[size_t(j)] < p; --j) {
                ids_[size_t(j) + 1] = ids_[size_t(j)];
                probs_[size_t(j) + 1] = probs_[size_t(j)];
            }
            ids_[size_t(j) + 1] = id;
            probs_[size_t(j) + 1] = p;
        }
        return;
    }
    uint32_t top = 0, bottom = 0xffffffffu;
    for (int32_t i = 0; i < count; ++i) {
        const uint32_t b = bits_of(probs_[size_t(i)]);
        top = std::max(top, b);
        bottom = std::min(bottom, b);
    }
    // Non-negative floats order as their bits: sorting top - bits ascending
    // puts the most probable first.
    const uint32_t range = top - bottom;
    if (range == 0) return;
    const int key_bits = 32 - __builtin_clz(range);
    const int passes = (key_bits + kMaxDigitBits - 1) / kMaxDigitBits;
    const int digit_bits = (key_bits + passes - 1) / passes;
    for (int shift = 0; shift < key_bits; shift += digit_bits) radix_pass(count, top, shift, digit_bits);
}

void HostSampler::radix_pass(int32_t count, uint32_t top, int shift, int digit_bits) {
    const uint32_t mask = (1u << digit_bits) - 1;
    std::fill(digit_counts_.begin(), digit_counts_.begin() + mask + 1, 0u);
    for (int32_t i = 0; i < count; ++i) ++digit_counts_[((top - bits_of(probs_[size_t(i)])) >> shift) & mask];
    uint32_t start = 0;
    for (uint32_t d = 0; d <= mask; ++d) {
        const uint32_t n = digit_counts_[d];
        digit_counts_[d] = start;
        start += n;
    }
    for (int32_t i = 0; i < count; ++i) {
        const float p = probs_[size_t(i)];
        const uint32_t to = digit_counts_[((top - bits_of(p)) >> shift) & mask]++;
        spare_ids_[to] = ids_[size_t(i)];
        spare_probs_[to] = p;
    }
    ids_.swap(spare_ids_);
    probs_.swap(spare_probs_);
}

// The cutoff is the first probability whose float32 running sum reaches
// top_p; every id at least as probable is kept. 0 when never reached.
int32_t HostSampler::cut(int32_t count, float top_p) const {
    float cumulative = 0;
    for (int32_t i = 0; i < count; ++i) {
        cumulative += probs_[size_t(i)];
        if (cumulative >= top_p) {
            int32_t kept = i + 1;
            while (kept < count && probs_[size_t(kept)] == probs_[size_t(i)]) ++kept;
            return kept;
        }
    }
    return 0;
}

}  // namespace rwkv5
