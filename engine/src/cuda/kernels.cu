#include <cuda_bf16.h>

#include "check.cuh"
#include "kernels.cuh"

namespace rwkv5::cuda {

namespace {

constexpr int kRowThreads = 256;
// One block per row for the LayerNorm-type kernels: with few rows (decode)
// a wide block finishes a 5120-wide row sooner.
constexpr int kNormThreads = 1024;
constexpr float kLayerNormEps = 1e-5f;
constexpr float kGroupNormEps = 64e-5f;
constexpr float kHalfMax = 65504.0f;

__device__ __forceinline__ float sigmoidf(float z) { return 1.0f / (1.0f + __expf(-z)); }

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ float block_sum(float v, float *shared) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // `shared` may still be read by a previous call
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float t = lane < warps ? shared[lane] : 0.0f;
    return warp_sum(t);
}

// LayerNorm statistics of a row: its mean and 1 / sqrt(var + eps).
struct RowNorm {
    float mean, inv;
};

// The residual update of row t (one block per row), in place: xt += gate ?
// sigmoid(gate) * delta : delta (when delta), then xt *= scale; returns the
// updated row's LayerNorm statistics.
__device__ __forceinline__ RowNorm add_residual_norm(float *xt, const float *delta, const float *gate, float scale,
                                                     int64_t t, int64_t C) {
    __shared__ float red[32];
    float sum = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        float v = xt[c];
        if (delta) v += gate ? sigmoidf(gate[t * C + c]) * delta[t * C + c] : delta[t * C + c];
        v *= scale;
        xt[c] = v;
        sum += v;
    }
    const float mean = block_sum(sum, red) / float(C);
    float var = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        const float d = xt[c] - mean;
        var += d * d;
    }
    return RowNorm{mean, rsqrtf(block_sum(var, red) / float(C) + kLayerNormEps)};
}

__global__ void embed_kernel(const void *rows, cpu::WeightType type, float *x, int64_t C) {
    const int64_t t = blockIdx.x;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        const int64_t i = t * C + c;
        float v;
        switch (type) {
            case cpu::WeightType::F32: v = static_cast<const float *>(rows)[i]; break;
            case cpu::WeightType::BF16: v = __bfloat162float(static_cast<const __nv_bfloat16 *>(rows)[i]); break;
            default: v = __half2float(static_cast<const __half *>(rows)[i]); break;
        }
        x[i] = v;
    }
}

__global__ void add_layer_norm_kernel(float *x, const float *delta, const float *gate, float scale, const float *g,
                                      const float *b, float *a, int64_t C, BatchMeta meta, StateView st, int64_t l,
                                      int64_t part, float *prev0) {
    const int64_t t = blockIdx.x;
    float *xt = x + t * C;
    const RowNorm n = add_residual_norm(xt, delta, gate, scale, t, C);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) a[t * C + c] = (xt[c] - n.mean) * n.inv * g[c] + b[c];
    const int32_t item = meta.row_item[t];
    if (t == meta.item_begin[item]) {
        const float *saved = st.base + meta.item_slot[item] * st.slot_floats + l * st.layer_floats + part;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) prev0[item * C + c] = saved[c];
    }
}

__global__ void add_norm_mix_kernel(float *x, const float *delta, const float *gate, float scale, const float *g,
                                    const float *b, const float *m0, const float *m1, const float *m2, const float *m3,
                                    int n_mix, __half *out, int64_t out_stride, int64_t C, BatchMeta meta, StateView st,
                                    int64_t l, int64_t part) {
    const int64_t t = blockIdx.x;
    float *xt = x + t * C;
    const RowNorm n = add_residual_norm(xt, delta, gate, scale, t, C);
    const float *mix[4] = {m0, m1, m2, m3};
    float *saved = st.base + meta.item_slot[t] * st.slot_floats + l * st.layer_floats + part;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        const float at = (xt[c] - n.mean) * n.inv * g[c] + b[c], p = saved[c];
#pragma unroll
        for (int m = 0; m < 4; ++m)
            if (m < n_mix) out[m * out_stride + t * C + c] = __float2half_rn(at * mix[m][c] + p * (1.0f - mix[m][c]));
        saved[c] = at;
    }
}

__global__ void shift_mix_kernel(const float *a, const float *prev0, const float *m0, const float *m1,
                                 const float *m2, const float *m3, int n_mix, __half *out, int64_t out_stride,
                                 int64_t C, BatchMeta meta, StateView st, int64_t l, int64_t part) {
    const int64_t t = blockIdx.x;
    const int32_t item = meta.row_item[t];
    const bool first = t == meta.item_begin[item], last = t + 1 == meta.item_begin[item + 1];
    const float *prev = first ? prev0 + item * C : a + (t - 1) * C;
    const float *mix[4] = {m0, m1, m2, m3};
    float *saved = st.base + meta.item_slot[item] * st.slot_floats + l * st.layer_floats + part;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        const float at = a[t * C + c], p = prev[c];
#pragma unroll
        for (int m = 0; m < 4; ++m)
            if (m < n_mix) out[m * out_stride + t * C + c] = __float2half_rn(at * mix[m][c] + p * (1.0f - mix[m][c]));
        if (last) saved[c] = at;
    }
}

// One block of kHeadSize threads per (item, head); thread j owns value column
// j of the head's state S[i][j] (in registers) for the item's whole sequence.
__global__ void __launch_bounds__(kHeadSize) wkv_kernel(const float *rkvg, int64_t plane, const float *decay,
                                                        const float *bonus, const float *lnx_w, const float *lnx_b,
                                                        __half *og, int64_t A, BatchMeta meta, StateView st, int64_t l,
                                                        int64_t C) {
    constexpr int N = kHeadSize;
    __shared__ float sr[N], sk[N], sw[N], su[N], red[32];
    const int item = blockIdx.x, h = blockIdx.y, j = threadIdx.x;
    float *S = st.base + meta.item_slot[item] * st.slot_floats + l * st.layer_floats + C + int64_t(h) * N * N;
    float s[N];
#pragma unroll
    for (int i = 0; i < N; ++i) s[i] = S[i * N + j];
    const int64_t hj = int64_t(h) * N + j;
    sw[j] = decay[hj];
    su[j] = bonus[hj];
    const float lw = lnx_w[hj], lb = lnx_b[hj];
    const float *r = rkvg, *k = rkvg + plane, *v = rkvg + 2 * plane, *g = rkvg + 3 * plane;
    const int64_t t0 = meta.item_begin[item], t1 = meta.item_begin[item + 1];
    // Token t+1's inputs are loaded while token t is computed.
    float rn = r[t0 * A + hj], kn = k[t0 * A + hj], vn = v[t0 * A + hj], gn = g[t0 * A + hj];
    for (int64_t t = t0; t < t1; ++t) {
        const float vj = vn, gj = gn;
        __syncthreads();
        sr[j] = rn;
        sk[j] = kn;
        __syncthreads();
        if (t + 1 < t1) {
            rn = r[(t + 1) * A + hj];
            kn = k[(t + 1) * A + hj];
            vn = v[(t + 1) * A + hj];
            gn = g[(t + 1) * A + hj];
        }
        float o = 0.0f;
#pragma unroll
        for (int i = 0; i < N; ++i) {
            const float kv = sk[i] * vj;
            o += sr[i] * (su[i] * kv + s[i]);
            s[i] = kv + sw[i] * s[i];
        }
        const float mean = block_sum(o, red) / float(N);
        const float d = o - mean;
        const float inv = rsqrtf(block_sum(d * d, red) / float(N) + kGroupNormEps);
        og[t * A + hj] = __float2half_rn((d * inv * lw + lb) * (gj * sigmoidf(gj)));
    }
#pragma unroll
    for (int i = 0; i < N; ++i) S[i * N + j] = s[i];
}

__global__ void relu_square_kernel(const float *k, __half *out, int64_t n) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const float z = fmaxf(k[i], 0.0f);
        out[i] = __float2half_rn(fminf(z * z, kHalfMax));
    }
}

__global__ void head_norm_kernel(const float *x, const float *delta, const float *gate, float scale, const float *g,
                                 const float *b, __half *h, int64_t C, BatchMeta meta) {
    __shared__ float red[32];
    const int64_t j = blockIdx.x, t = meta.head_rows[j];
    auto value = [&](int64_t c) {
        return (x[t * C + c] + sigmoidf(gate[t * C + c]) * delta[t * C + c]) * scale;
    };
    float sum = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sum += value(c);
    const float mean = block_sum(sum, red) / float(C);
    float var = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        const float d = value(c) - mean;
        var += d * d;
    }
    const float inv = rsqrtf(block_sum(var, red) / float(C) + kLayerNormEps);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
        h[j * C + c] = __float2half_rn((value(c) - mean) * inv * g[c] + b[c]);
}

// The end of a warp-per-row product: each row's lane sums to Y[t][row].
template <int T>
__device__ __forceinline__ void store_rows(const float (&acc)[T], float *Y, int64_t out, int64_t row, int lane) {
#pragma unroll
    for (int t = 0; t < T; ++t) {
        const float v = warp_sum(acc[t]);
        if (lane == 0) Y[t * out + row] = v;
    }
}

template <int T>
__global__ void __launch_bounds__(kRowThreads) gemv_kernel(const __half *W, int64_t w_stride, const __half *X,
                                                           int64_t x_stride, float *Y, int64_t y_stride, int64_t out,
                                                           int64_t in) {
    const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (row >= out) return;
    W += blockIdx.y * w_stride;
    X += blockIdx.y * x_stride;
    Y += blockIdx.y * y_stride;
    const int4 *w = reinterpret_cast<const int4 *>(W + row * in);
    const int64_t n8 = in / 8;
    float acc[T];
#pragma unroll
    for (int t = 0; t < T; ++t) acc[t] = 0.0f;
#pragma unroll 4
    for (int64_t i = lane; i < n8; i += 32) {
        const int4 wv = __ldcs(w + i);  // streamed once: keep it out of the caches
        const __half2 *wh = reinterpret_cast<const __half2 *>(&wv);
#pragma unroll
        for (int t = 0; t < T; ++t) {
            const int4 xv = __ldg(reinterpret_cast<const int4 *>(X + t * in) + i);
            const __half2 *xh = reinterpret_cast<const __half2 *>(&xv);
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                const float2 a = __half22float2(wh[q]), b = __half22float2(xh[q]);
                acc[t] = fmaf(a.x, b.x, fmaf(a.y, b.y, acc[t]));
            }
        }
    }
    store_rows<T>(acc, Y, out, row, lane);
}

// gemv_kernel on int8 weights: each lane streams 16 weights (one 16-byte
// load, all in one quantization block) and applies their block's scale to
// the 16-term partial sums.
constexpr int kQ8PerLoad = 16;
static_assert(cpu::kQuantBlock % kQ8PerLoad == 0, "a 16-byte load stays in one quantization block");
template <int T>
__global__ void __launch_bounds__(kRowThreads) gemv_q8_kernel(const int8_t *W, const float *S, int64_t w_stride,
                                                              int64_t s_stride, const __half *X, int64_t x_stride,
                                                              float *Y, int64_t y_stride, int64_t out, int64_t in,
                                                              int64_t per_row) {
    const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (row >= out) return;
    W += blockIdx.y * w_stride;
    S += blockIdx.y * s_stride;
    X += blockIdx.y * x_stride;
    Y += blockIdx.y * y_stride;
    const int4 *w = reinterpret_cast<const int4 *>(W + row * in);
    const float *scale = S + row * per_row;
    const int64_t n16 = in / kQ8PerLoad;
    float acc[T];
#pragma unroll
    for (int t = 0; t < T; ++t) acc[t] = 0.0f;
#pragma unroll 2
    for (int64_t i = lane; i < n16; i += 32) {
        const int4 wv = __ldcs(w + i);  // streamed once: keep it out of the caches
        const float sc = __ldg(scale + i * kQ8PerLoad / cpu::kQuantBlock);
        const char4 *wc = reinterpret_cast<const char4 *>(&wv);
        float wf[kQ8PerLoad];
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            wf[4 * q] = float(wc[q].x);
            wf[4 * q + 1] = float(wc[q].y);
            wf[4 * q + 2] = float(wc[q].z);
            wf[4 * q + 3] = float(wc[q].w);
        }
#pragma unroll
        for (int t = 0; t < T; ++t) {
            const int4 *xp = reinterpret_cast<const int4 *>(X + t * in) + 2 * i;
            const int4 xv[2] = {__ldg(xp), __ldg(xp + 1)};
            const __half2 *xh = reinterpret_cast<const __half2 *>(xv);
            float part = 0.0f;
#pragma unroll
            for (int q = 0; q < kQ8PerLoad / 2; ++q) {
                const float2 b = __half22float2(xh[q]);
                part = fmaf(wf[2 * q], b.x, fmaf(wf[2 * q + 1], b.y, part));
            }
            acc[t] = fmaf(part, sc, acc[t]);
        }
    }
    store_rows<T>(acc, Y, out, row, lane);
}

__global__ void dequantize_kernel(const int8_t *q, const float *scales, __half *dst, int64_t rows, int64_t cols,
                                  int64_t per_row) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < rows * cols; i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = __float2half_rn(float(q[i]) * scales[i / cols * per_row + i % cols / cpu::kQuantBlock]);
}

int grid_for(int64_t n) { return int(std::min<int64_t>((n + kRowThreads - 1) / kRowThreads, 4096)); }

}  // namespace

void embed(const void *emb_rows, cpu::WeightType type, float *x, int64_t T, int64_t C, cudaStream_t s) {
    embed_kernel<<<unsigned(T), kNormThreads, 0, s>>>(emb_rows, type, x, C);
    check(cudaGetLastError(), "embed kernel");
}

void add_layer_norm(float *x, const float *delta, const float *gate, float scale, const float *g, const float *b,
                    float *a, int64_t T, int64_t C, BatchMeta meta, StateView st, int64_t l, int64_t part, float *prev0,
                    cudaStream_t s) {
    add_layer_norm_kernel<<<unsigned(T), kNormThreads, 0, s>>>(x, delta, gate, scale, g, b, a, C, meta, st, l, part,
                                                              prev0);
    check(cudaGetLastError(), "layer norm kernel");
}

void add_norm_mix(float *x, const float *delta, const float *gate, float scale, const float *g, const float *b,
                  const float *const *mix, int n_mix, __half *out, int64_t out_stride, int64_t T, int64_t C,
                  BatchMeta meta, StateView st, int64_t l, int64_t part, cudaStream_t s) {
    add_norm_mix_kernel<<<unsigned(T), kNormThreads, 0, s>>>(x, delta, gate, scale, g, b, mix[0], mix[1],
                                                             n_mix > 2 ? mix[2] : nullptr, n_mix > 3 ? mix[3] : nullptr,
                                                             n_mix, out, out_stride, C, meta, st, l, part);
    check(cudaGetLastError(), "layer norm + token shift kernel");
}

void shift_mix(const float *a, const float *prev0, const float *const *mix, int n_mix, __half *out, int64_t out_stride,
               int64_t T, int64_t C, BatchMeta meta, StateView st, int64_t l, int64_t part, cudaStream_t s) {
    shift_mix_kernel<<<unsigned(T), kNormThreads, 0, s>>>(a, prev0, mix[0], mix[1], n_mix > 2 ? mix[2] : nullptr,
                                                         n_mix > 3 ? mix[3] : nullptr, n_mix, out, out_stride, C, meta,
                                                         st, l, part);
    check(cudaGetLastError(), "token shift kernel");
}

void wkv(const float *rkvg, int64_t plane, const float *decay, const float *bonus, const float *lnx_w,
         const float *lnx_b, __half *og, int64_t n_items, int64_t H, int64_t A, BatchMeta meta, StateView st,
         int64_t l, int64_t C, cudaStream_t s) {
    wkv_kernel<<<dim3(unsigned(n_items), unsigned(H)), kHeadSize, 0, s>>>(rkvg, plane, decay, bonus, lnx_w, lnx_b, og,
                                                                          A, meta, st, l, C);
    check(cudaGetLastError(), "wkv kernel");
}

void gemv(const __half *W, int64_t w_stride, const __half *X, int64_t x_stride, float *Y, int64_t y_stride,
          int64_t out, int64_t in, int64_t T, int batch, cudaStream_t s) {
    const dim3 grid(unsigned((out * 32 + kRowThreads - 1) / kRowThreads), unsigned(batch));
    switch (T) {
        case 1: gemv_kernel<1><<<grid, kRowThreads, 0, s>>>(W, w_stride, X, x_stride, Y, y_stride, out, in); break;
        case 2: gemv_kernel<2><<<grid, kRowThreads, 0, s>>>(W, w_stride, X, x_stride, Y, y_stride, out, in); break;
        case 3: gemv_kernel<3><<<grid, kRowThreads, 0, s>>>(W, w_stride, X, x_stride, Y, y_stride, out, in); break;
        case 4: gemv_kernel<4><<<grid, kRowThreads, 0, s>>>(W, w_stride, X, x_stride, Y, y_stride, out, in); break;
        default: throw Error(RWKV5_ERR_INTERNAL, "gemv: more rows than kGemvMaxRows");
    }
    check(cudaGetLastError(), "gemv kernel");
}

namespace {

template <int T>
void launch_gemv_q8(dim3 grid, cudaStream_t s, const int8_t *W, const float *S, int64_t w_stride, int64_t s_stride,
                    const __half *X, int64_t x_stride, float *Y, int64_t y_stride, int64_t out, int64_t in, int64_t rows) {
    if (rows == T) {
        gemv_q8_kernel<T><<<grid, kRowThreads, 0, s>>>(W, S, w_stride, s_stride, X, x_stride, Y, y_stride, out, in,
                                                      cpu::quant_blocks(in));
        return;
    }
    if constexpr (T < kGemvQ8MaxRows) {
        launch_gemv_q8<T + 1>(grid, s, W, S, w_stride, s_stride, X, x_stride, Y, y_stride, out, in, rows);
    } else {
        throw Error(RWKV5_ERR_INTERNAL, "gemv_q8: more rows than kGemvQ8MaxRows");
    }
}

}  // namespace

void gemv_q8(const int8_t *W, const float *S, int64_t w_stride, int64_t s_stride, const __half *X, int64_t x_stride,
             float *Y, int64_t y_stride, int64_t out, int64_t in, int64_t T, int batch, cudaStream_t s) {
    if (in % kQ8PerLoad != 0) throw Error(RWKV5_ERR_INTERNAL, "gemv_q8: rows of a length not a multiple of 16");
    const dim3 grid(unsigned((out * 32 + kRowThreads - 1) / kRowThreads), unsigned(batch));
    launch_gemv_q8<1>(grid, s, W, S, w_stride, s_stride, X, x_stride, Y, y_stride, out, in, T);
    check(cudaGetLastError(), "int8 gemv kernel");
}

void dequantize(const int8_t *q, const float *scales, __half *dst, int64_t rows, int64_t cols, cudaStream_t s) {
    dequantize_kernel<<<grid_for(rows * cols), kRowThreads, 0, s>>>(q, scales, dst, rows, cols, cpu::quant_blocks(cols));
    check(cudaGetLastError(), "dequantize kernel");
}

void relu_square(const float *k, __half *out, int64_t n, cudaStream_t s) {
    relu_square_kernel<<<grid_for(n), kRowThreads, 0, s>>>(k, out, n);
    check(cudaGetLastError(), "relu^2 kernel");
}

void head_norm(const float *x, const float *delta, const float *gate, float scale, const float *g, const float *b,
               __half *h, int64_t n_rows, int64_t C, BatchMeta meta, cudaStream_t s) {
    head_norm_kernel<<<unsigned(n_rows), kNormThreads, 0, s>>>(x, delta, gate, scale, g, b, h, C, meta);
    check(cudaGetLastError(), "head norm kernel");
}

}  // namespace rwkv5::cuda
