// ISA-independent pieces of the kernel tables, included by each
// kernels_<isa>.cpp. Everything here has internal linkage (anonymous
// namespace) on purpose: those files are compiled with different -m flags,
// and external-linkage inline copies could be merged across them and run
// AVX-512 code on a host without it. No standard-library templates either,
// for the same reason.
#pragma once

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

}  // namespace
}  // namespace rwkv5::cpu
