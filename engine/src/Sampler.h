// Sampling on the host (docs/rwkv5.md §9): the repetition penalties, the softmax,
// the top-p cut at temperature 1, top-k, temperature and the draw, operation
// for operation as the TypeScript Sampler and Nucleus (src/inference) do them,
// so that the engine and that oracle pick the same token. The CPU backend
// samples with it; the CUDA backend keeps the same arithmetic on the device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rwkv5.h"

namespace rwkv5 {

// Throws rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT) naming `where` and the
// first parameter out of its range (rwkv5.h).
void check_sampling_params(const rwkv5_sampling_params &p, int32_t n_vocab, const std::string &where);

// One slot's repetition counts: the ids sampled since its reply began, each
// with its decayed count, in first-sampled order.
class PenaltyCounts {
public:
    void clear() {
        ids_.clear();
        counts_.clear();
    }
    // logits[id] -= presence + count * frequency for every counted id; the
    // penalty in double, the logit rounded once (as the oracle's Float32Array).
    void apply(float *logits, double presence, double frequency) const;
    // Decays every count, then adds `weight` to the count of `token`.
    void accept(int32_t token, double decay, double weight);
    // Whether `token` is recorded with weight 0 (params.uncounted).
    static bool uncounted(const rwkv5_sampling_params &p, int32_t token);

private:
    std::vector<int32_t> ids_;
    std::vector<double> counts_;
};

// The scratch of host sampling for one vocabulary size; one per thread.
class HostSampler {
public:
    explicit HostSampler(int32_t n_vocab);
    // Draws a token from `logits` (left unchanged) with `p` and the slot's
    // `counts`, then records it in `counts`. Clears `counts` first when
    // p.new_reply.
    int32_t sample(const float *logits, const rwkv5_sampling_params &p, PenaltyCounts &counts);

private:
    int32_t draw(const rwkv5_sampling_params &p);
    // Nucleus.select: the kept ids in ids_[0, n), by probability descending.
    int32_t select(float top_p, int32_t top_k);
    double exponentiate();
    int32_t floor_bucket(double target) const;
    int32_t gather(int32_t bucket, double sum);
    void sort(int32_t count);
    void radix_pass(int32_t count, uint32_t top, int shift, int digit_bits);
    int32_t cut(int32_t count, float top_p) const;

    int32_t n_vocab_;
    std::vector<float> work_;      // the penalised logits
    std::vector<float> exps_;      // float32 exp(logit - max)
    std::vector<double> exps64_;   // the same, unrounded
    std::vector<int32_t> ids_, spare_ids_;
    std::vector<float> probs_, spare_probs_;
    std::vector<double> mass_;     // per bucket of exps_ bits
    std::vector<uint32_t> digit_counts_;
    std::vector<double> weights_;
    int32_t low_bucket_ = 0, high_bucket_ = 0;  // the non-zero part of mass_
};

}  // namespace rwkv5
