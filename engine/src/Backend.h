// The compute backend behind a context: slot states and the batched forward
// pass. The CPU backend is the only one today; a CUDA backend implements the
// same interface. Arguments reaching a backend are already validated.
#pragma once

#include <cstdint>
#include <memory>

#include "rwkv5.h"

namespace rwkv5 {

class Model;

class Backend {
public:
    virtual ~Backend() = default;
    // Copies a slot's state out / in, docs/rwkv5.md §7 layout; src == nullptr
    // resets the slot to the zero state. Setting clears the slot's penalty
    // counts (rwkv5.h: they are not part of the state).
    virtual void get_state(int32_t slot, float *dst) const = 0;
    virtual void set_state(int32_t slot, const float *src) = 0;
    // One batched forward pass. Item i computes head_rows(items[i]) logits
    // rows (n_vocab floats each) and writes those it asked for at logits +
    // row_offset[i] * n_vocab; an item with sampling params samples from its
    // last row into tokens[i] (else -1). Must not fail on valid input:
    // scratch is allocated up front.
    virtual void decode(const rwkv5_batch_item *items, int32_t n_items, const int64_t *row_offset, float *logits,
                        int32_t *tokens) = 0;
    // Samples tokens[i] from the host row logits + i * n_vocab with params[i]
    // and the counts of slots[i] (rwkv5_sample_logits).
    virtual void sample(const float *logits, int32_t n_rows, const int32_t *slots,
                        const rwkv5_sampling_params *params, int32_t *tokens) = 0;
};

// Logits rows the head computes for an item: one per token (ALL), or the
// last token's when it wants them (LAST) or samples from them.
inline int32_t head_rows(const rwkv5_batch_item &it) {
    if (it.logits == RWKV5_LOGITS_ALL) return it.n_tokens;
    return it.logits == RWKV5_LOGITS_LAST || it.sampling ? 1 : 0;
}

std::unique_ptr<Backend> make_cpu_backend(const Model &model, int32_t n_slots, int32_t n_threads,
                                          int32_t max_batch_tokens);

}  // namespace rwkv5
