#include "WeightBytes.h"

#include "cpu/kernels.h"

namespace rwkv5 {

uint64_t vector_floats(const ModelShape &s) {
    return uint64_t(s.n_layer) * (10 * uint64_t(s.n_embd) + 4 * uint64_t(s.dim_att)) + 2 * uint64_t(s.n_embd);
}

uint64_t host_weight_bytes(const ModelShape &s, rwkv5_weight_type type) {
    // The int8 path keeps the embedding in 16 bits, like the 16-bit path.
    const uint64_t elem = type == RWKV5_WEIGHTS_FP32 ? 4 : 2;
    uint64_t bytes = uint64_t(s.n_vocab) * uint64_t(s.n_embd) * elem + vector_floats(s) * 4;
    for_each_matrix(s, [&](int64_t rows, int64_t cols) {
        const uint64_t cells = uint64_t(rows) * uint64_t(cols);
        bytes += type == RWKV5_WEIGHTS_INT8 ? cells + uint64_t(rows) * uint64_t(cpu::quant_blocks(cols)) * 4 : cells * elem;
    });
    return bytes;
}

}  // namespace rwkv5
