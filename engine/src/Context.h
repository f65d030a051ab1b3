// A context: N state slots over one model, the batch validation and the
// logits and sampled tokens of the last decode. The math lives in its Backend.
#pragma once

#include <memory>
#include <vector>

#include "Backend.h"
#include "Model.h"
#include "rwkv5.h"

namespace rwkv5 {

class Context {
public:
    // Throws rwkv5::Error (RWKV5_ERR_INVALID_ARGUMENT) or std::bad_alloc.
    Context(const Model &model, const rwkv5_context_params &params);

    int32_t n_slots() const { return n_slots_; }
    size_t state_size() const { return size_t(model_.info().state_size); }

    // Throw rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT) with nothing changed.
    void get_state(int32_t slot, float *dst, size_t size) const;
    void set_state(int32_t slot, const float *src, size_t size);
    void reset(int32_t slot);
    void decode(const rwkv5_batch_item *items, int32_t n_items);
    void sample_logits(const float *logits, int32_t n_rows, const int32_t *slots,
                       const rwkv5_sampling_params *params, int32_t *tokens);

    // nullptr and 0 rows for an item that asked for none or is out of range.
    const float *logits(int32_t item, int32_t *n_rows) const;
    // -1 for an item that did not sample or is out of range.
    int32_t token(int32_t item) const;

private:
    void check_slot(int32_t slot) const;

    const Model &model_;
    int32_t n_slots_;
    int32_t max_batch_tokens_;
    std::unique_ptr<Backend> backend_;
    std::vector<float> logits_;
    std::vector<int64_t> row_offset_;  // per item of the last decode
    std::vector<int32_t> row_count_;  // rows the item asked for
    std::vector<int32_t> tokens_;
    std::vector<char> slot_used_;
};

}  // namespace rwkv5
