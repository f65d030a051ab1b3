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
    // resets the slot to the zero state.
    virtual void get_state(int32_t slot, float *dst) const = 0;
    virtual void set_state(int32_t slot, const float *src) = 0;
    // One batched forward pass. Item i writes its logits rows (n_vocab floats
    // each) at logits + row_offset[i] * n_vocab when it asked for any. Must
    // not fail on valid input: scratch is allocated up front.
    virtual void decode(const rwkv5_batch_item *items, int32_t n_items, const int64_t *row_offset,
                        float *logits) = 0;
};

std::unique_ptr<Backend> make_cpu_backend(const Model &model, int32_t n_slots, int32_t n_threads,
                                          int32_t max_batch_tokens);

}  // namespace rwkv5
