// What a model's weights will occupy, known from its shape before any is
// loaded: the memory budget (MemoryBudget.h) is checked against it.
#pragma once

#include <cstdint>

#include "ModelShape.h"
#include "rwkv5.h"

namespace rwkv5 {

// Calls fn(rows, cols) for every matrix the forward pass multiplies by, in
// load order: per layer att receptance, key, value, gate, output, ffn key,
// receptance, value; then the head.
template <class F>
void for_each_matrix(const ModelShape &s, F &&fn) {
    const int64_t C = s.n_embd, A = s.dim_att, F_ = s.dim_ffn;
    for (int32_t l = 0; l < s.n_layer; ++l) {
        for (int i = 0; i < 4; ++i) fn(A, C);
        fn(C, A);
        fn(F_, C);
        fn(C, C);
        fn(C, F_);
    }
    fn(int64_t(s.n_vocab), C);
}

// fp32 floats of the per-layer vectors (LayerNorms, mixes, decay, bonus, ln_x) and ln_out.
uint64_t vector_floats(const ModelShape &s);

// The bytes rwkv5_model_info.weight_bytes reports after a CPU load of `type`
// (fp32, 16-bit or int8): matrices with their int8 scales, the embedding, the vectors.
uint64_t host_weight_bytes(const ModelShape &s, rwkv5_weight_type type);

}  // namespace rwkv5
