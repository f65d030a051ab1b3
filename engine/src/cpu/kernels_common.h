// ISA-independent pieces of the kernel tables, included by each
// kernels_<isa>.cpp. Everything here has internal linkage (anonymous
// namespace) on purpose: those files are compiled with different -m flags,
// and external-linkage inline copies could be merged across them and run
// AVX-512 code on a host without it. No standard-library templates either,
// for the same reason.
#pragma once

#include <cstdlib>

#include "cpu/kernels.h"

namespace rwkv5::cpu {
namespace {

// Bytes per element of a weight type, at compile time.
template <WeightType WT>
constexpr size_t kWeightSize = WT == WeightType::F32 ? 4 : WT == WeightType::I8 ? 1 : 2;

// A weight type as a type, so that a generic lambda can instantiate a kernel on it.
template <WeightType WT>
struct WeightTag {
    static constexpr WeightType value = WT;
};

// Calls fn(WeightTag<type>{}): turns the run-time weight type of a matrix
// into the compile-time one the kernels are specialised on.
template <class Fn>
inline void visit_weight_type(WeightType type, const Fn &fn) {
    switch (type) {
        case WeightType::F32: return fn(WeightTag<WeightType::F32>{});
        case WeightType::BF16: return fn(WeightTag<WeightType::BF16>{});
        case WeightType::F16: return fn(WeightTag<WeightType::F16>{});
        case WeightType::I8: return fn(WeightTag<WeightType::I8>{});
    }
}

// The scales pointer handed down for a matrix without scales (never read):
// row offsets are added to it with a zero step.
constexpr float kNoScales = 0.0f;

// Tokens per cache block of the SIMD matmuls: the activations of one block
// (cols floats a token) stay in L2 while every weight row tile of the
// thread's range streams past them once; 8 to 64, a multiple of 4.
inline int64_t token_block(int64_t cols) {
    constexpr int64_t kBlockBytes = 1 << 20;
    const int64_t block = kBlockBytes / (cols * 4 + 1);
    return block < 8 ? 8 : (block > 64 ? 64 : block & ~int64_t(3));
}

// A VNNI table's int16 activations for a block of tokens: q[t * qstride + c]
// (zero past cols, `blocks` blocks a token), s[t] token t's scale.
struct QuantX {
    int16_t *q;
    float *s;
    int64_t qstride, blocks;
    // The same from token t on.
    QuantX from(int64_t t) const { return {q + t * qstride, s + t, qstride, blocks}; }
};

// A VNNI table's int8 product: per cache block of tokens, quantize(x, ldx,
// n, cols, qx) rounds the activations, then rows(qx, n, y) multiplies rows
// [r0, r1) into y. Without memory for the scratch, `fallback` (the fp32
// table) computes it.
template <class Quantize, class Rows>
inline void vnni_matmul(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy,
                        int64_t r0, int64_t r1, const Kernels &fallback, const Quantize &quantize, const Rows &rows) {
    const int64_t cols = w.cols, blocks = quant_blocks(cols), qstride = blocks * kQuantBlock;
    const int64_t block = token_block(cols);
    const int64_t n_max = n_tokens < block ? n_tokens : block;
    int16_t *q = static_cast<int16_t *>(std::aligned_alloc(64, size_t(n_max * qstride) * 2));
    float *s = static_cast<float *>(std::aligned_alloc(64, size_t(n_max + 16) * 4));
    if (!q || !s) {
        std::free(q);
        std::free(s);
        return fallback.matmul(w, x, ldx, n_tokens, y, ldy, r0, r1);
    }
    for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
        const int64_t tn = n_tokens - t0 < block ? n_tokens - t0 : block;
        const QuantX qx{q, s, qstride, blocks};
        quantize(x + t0 * ldx, ldx, tn, cols, qx);
        rows(qx, tn, y + t0 * ldy);
    }
    std::free(q);
    std::free(s);
}

}  // namespace
}  // namespace rwkv5::cpu
