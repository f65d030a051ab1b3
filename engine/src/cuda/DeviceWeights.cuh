// The weights of one model on one device (see cuda.h).
#pragma once

#include <cuda_fp16.h>

#include <vector>

#include "check.cuh"
#include "cuda.h"

namespace rwkv5::cuda {

// docs/rwkv5.md §4 item 8: att.output and ffn.value of layer l are divided by
// 2^(l / kRescaleLayer) at upload; the residual is halved after every
// kRescaleLayer-th layer.
constexpr int kRescaleLayer = 6;

// One weight matrix, [out, in] row-major: fp16 (`f16`), or int8 (`q`) with
// one fp32 scale per cpu::kQuantBlock columns of a row (`scales`, [out][in /
// kQuantBlock]), quantized on the device like cpu/quantize.h does on the host.
struct DeviceMatrix {
    const __half *f16 = nullptr;
    const int8_t *q = nullptr;
    const float *scales = nullptr;
};

struct DeviceLayer {
    // fp32 vectors: [C] ln1_w, ln1_b, ln2_w, ln2_b, att mixes r,k,v,g, ffn mixes k,r;
    // [A] decay, bonus, lnx_w, lnx_b.
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    const float *att_mix[4];  // r, k, v, g
    const float *ffn_mix[2];  // k, r
    const float *decay, *bonus, *lnx_w, *lnx_b;
    // att_rkvg holds r, k, v, g back to back ([4][A][C], their scales too) so
    // the four projections are one strided-batched product.
    DeviceMatrix att_rkvg, att_o, ffn_k, ffn_r, ffn_v;
};

class DeviceWeights {
public:
    int device = 0;
    std::vector<DeviceLayer> layers;
    const float *ln_out_w = nullptr, *ln_out_b = nullptr;
    DeviceMatrix head;
    bool int8 = false;
    // Bytes of every matrix (with its scales) as one decode step reads them.
    uint64_t matrix_bytes = 0;
    // fp16 matrices, or int8 matrices and their scales.
    DeviceBuffer matrices, scales, vectors;
};

}  // namespace rwkv5::cuda
