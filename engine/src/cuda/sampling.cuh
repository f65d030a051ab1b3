// Sampling on the device: the host Sampler's arithmetic (engine/src/Sampler.h,
// itself the TypeScript oracle's) for a batch of logits rows at once, so a
// decode step copies out one token per item instead of its logits row. The
// penalty counts of every slot live on the device, dense: count[slot][id],
// -1 for an id not counted in the current reply.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "check.cuh"
#include "rwkv5.h"

namespace rwkv5::cuda {

// One sampled row's parameters as the kernels read them.
struct RowParams {
    double temperature, presence, frequency, decay, uniform;
    float top_p;
    int32_t top_k, slot, new_reply;
    int32_t banned_begin, n_banned, uncounted_begin, n_uncounted;  // into the id list
    int32_t source_row;  // the head row it samples from (decode), or -1
};

class DeviceSampler {
public:
    // Room for `max_rows` rows per call over `n_slots` slots' counts.
    DeviceSampler(int32_t n_slots, int32_t max_rows, int64_t n_vocab, cudaStream_t stream);

    // Host side of a call: rows are added in order, then uploaded.
    void clear_rows();
    void add_row(int32_t slot, const rwkv5_sampling_params &p, int32_t source_row);
    int32_t rows() const { return int32_t(host_rows_.size()); }
    void upload();
    // Copies the rows whose source_row is in [first, first + n) from `logits`
    // (device, row first at logits) to their work rows.
    void gather(const float *logits, int64_t first, int64_t n);
    // The work row of row `i`, for caller-given logits (rwkv5_sample_logits).
    float *work_row(int32_t i) const { return work_.as<float>() + int64_t(i) * V_; }
    // Samples every uploaded row from its work row, records the tokens in the
    // slots' counts and copies them to the host; read after the stream syncs.
    void run();
    const int32_t *tokens() const { return tokens_host_.as<int32_t>(); }
    // Forgets a slot's counts (a state import or reset).
    void clear_slot(int32_t slot);

private:
    int64_t V_;
    cudaStream_t stream_;
    std::vector<RowParams> host_rows_;
    std::vector<int32_t> host_ids_;
    DeviceBuffer counts_, work_, keys_in_, keys_out_, ids_in_, ids_out_, offsets_, params_, ids_, tokens_, sort_temp_;
    PinnedBuffer params_host_, ids_host_, tokens_host_;
    size_t ids_capacity_ = 0, sort_temp_bytes_ = 0;
};

}  // namespace rwkv5::cuda
