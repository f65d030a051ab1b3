// The backend's elementwise, normalisation and WKV kernels (docs/rwkv5.md §5/§6),
// fp32 arithmetic throughout; only matrix inputs are stored as fp16.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cpu/kernels.h"

namespace rwkv5::cuda {

// Where a batch's rows come from: row t belongs to item row_item[t]; item i
// owns rows [item_begin[i], item_begin[i+1]) and slot item_slot[i]; logits
// row j is batch row head_rows[j].
struct BatchMeta {
    const int32_t *row_item, *item_slot, *item_begin, *head_rows;
};

// The slot states, docs/rwkv5.md §7 layout per slot.
struct StateView {
    float *base;
    int64_t slot_floats, layer_floats;
};

constexpr int kHeadSize = 64;

// x[t] = fp32 of the raw embedding row emb_rows[t] (C elements of `type`).
void embed(const void *emb_rows, cpu::WeightType type, float *x, int64_t T, int64_t C, cudaStream_t s);

// Per row: x += gate ? sigmoid(gate) * delta : delta (when delta), x *= scale,
// a = LN(x; g, b). The first row of each item copies its slot's saved shift
// vector (state part `part` of layer l) to prev0[item].
void add_layer_norm(float *x, const float *delta, const float *gate, float scale, const float *g, const float *b,
                    float *a, int64_t T, int64_t C, BatchMeta meta, StateView st, int64_t l, int64_t part, float *prev0,
                    cudaStream_t s);

// Per row: out[m][t] = fp16(a[t] * mix[m] + prev * (1 - mix[m])), prev = a[t-1]
// in the same item or prev0[item]; the last row of each item becomes the
// slot's saved shift vector.
void shift_mix(const float *a, const float *prev0, const float *const *mix, int n_mix, __half *out, int64_t out_stride,
               int64_t T, int64_t C, BatchMeta meta, StateView st, int64_t l, int64_t part, cudaStream_t s);

// add_layer_norm + shift_mix in one pass for a decode-only batch (every item
// one token, so row t is item t and its previous vector is the slot's saved
// one, read and then replaced by the same thread).
void add_norm_mix(float *x, const float *delta, const float *gate, float scale, const float *g, const float *b,
                  const float *const *mix, int n_mix, __half *out, int64_t out_stride, int64_t T, int64_t C,
                  BatchMeta meta, StateView st, int64_t l, int64_t part, cudaStream_t s);

// WKV recurrence over each item's tokens (state in registers), GroupNorm with
// ln_x, times silu(g), to og (fp16). rkvg: r, k, v, g rows of width A, `plane`
// floats apart. One block per (item, head).
void wkv(const float *rkvg, int64_t plane, const float *decay, const float *bonus, const float *lnx_w,
         const float *lnx_b, __half *og, int64_t n_items, int64_t H, int64_t A, BatchMeta meta, StateView st,
         int64_t l, int64_t C, cudaStream_t s);

// Largest row count handled by gemv(); larger batches go through cuBLAS.
constexpr int64_t kGemvMaxRows = 4;

// Y[b][t, out] = X[b][t, in] · W[b][out, in]^T for b < batch, t < T <=
// kGemvMaxRows, `in` a multiple of 8: one warp per output row streams the
// weight row once with 16-byte loads (the decode step is bound by reading
// the weights). fp32 accumulation and output.
void gemv(const __half *W, int64_t w_stride, const __half *X, int64_t x_stride, float *Y, int64_t y_stride,
          int64_t out, int64_t in, int64_t T, int batch, cudaStream_t s);

// Largest row count handled by gemv_q8(); larger batches dequantize the
// matrix to fp16 in slices (dequantize()) and go through cuBLAS. Higher than
// the fp16 one: reading int8 weights costs half, so the arithmetic per byte
// read meets the device's limit at more rows.
constexpr int64_t kGemvQ8MaxRows = 16;

// gemv() on int8 weights: W [out, in] int8 with fp32 scales S [out][
// cpu::quant_blocks(in)], `in` a multiple of 16; w_stride in weights, s_stride
// in scales.
void gemv_q8(const int8_t *W, const float *S, int64_t w_stride, int64_t s_stride, const __half *X, int64_t x_stride,
             float *Y, int64_t y_stride, int64_t out, int64_t in, int64_t T, int batch, cudaStream_t s);

// dst[r][c] = fp16(q[r][c] * scales[r][c / cpu::kQuantBlock]) for `rows` rows of `cols`.
void dequantize(const int8_t *q, const float *scales, __half *dst, int64_t rows, int64_t cols, cudaStream_t s);

// out = fp16(max(k, 0)^2), saturated at the fp16 maximum.
void relu_square(const float *k, __half *out, int64_t n, cudaStream_t s);

// For each logits row j (row t = head_rows[j]): h[j] = fp16(LN((x[t] +
// sigmoid(gate[t]) * delta[t]) * scale; g, b)): the last layer's channel-mix
// residual folded into the final LayerNorm.
void head_norm(const float *x, const float *delta, const float *gate, float scale, const float *g, const float *b,
               __half *h, int64_t n_rows, int64_t C, BatchMeta meta, cudaStream_t s);

}  // namespace rwkv5::cuda
