// AVX-512 kernels (compiled with -mavx512f/bw/vl/dq; only reached through
// host_kernels() on a host that has them). No standard-library templates
// here: their out-of-line copies could be shared with non-AVX-512 code.
// GCC 12 warns about its own _mm512_undefined_* helpers (a known false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "cpu/kernels.h"

namespace rwkv5::cpu {
namespace {

// Tokens per cache block: the activations of one block stay in L2 while every
// weight row tile of the thread's range streams past them once.
constexpr int64_t kBlockBytes = 1 << 20;
constexpr int64_t kPrefetchBytes = 1024;

template <WeightType WT>
inline __m512 load_w(const uint8_t *row, int64_t k) {
    if constexpr (WT == WeightType::F32) {
        return _mm512_loadu_ps(reinterpret_cast<const float *>(row) + k);
    } else if constexpr (WT == WeightType::BF16) {
        __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + 2 * k));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + 2 * k)));
    }
}

template <WeightType WT>
inline __m512 load_w_tail(const uint8_t *row, int64_t k, __mmask16 m) {
    if constexpr (WT == WeightType::F32) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float *>(row) + k);
    } else if constexpr (WT == WeightType::BF16) {
        __m256i h = _mm256_maskz_loadu_epi16(m, row + 2 * k);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    }
}

// R weight rows x TB tokens, one accumulator per (row, token) over the whole
// row: the per-output operation sequence is the same for every R and TB.
template <WeightType WT, int R, int TB>
inline void tile(const uint8_t *w, size_t wstride, const float *x, int64_t ldx, float *y, int64_t ldy,
                 int64_t cols) {
    __m512 acc[R][TB];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= cols; k += 16) {
        __m512 xv[TB];
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) xv[t] = _mm512_loadu_ps(x + t * ldx + k);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            // Few tokens: the loop is a stream over R rows; prefetching
            // ahead keeps more lines in flight than the hardware prefetcher.
            if (TB <= 2) _mm_prefetch(reinterpret_cast<const char *>(w + r * wstride) + (WT == WeightType::F32 ? 4 : 2) * k + kPrefetchBytes, _MM_HINT_T0);
            __m512 wv = load_w<WT>(w + r * wstride, k);
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    if (k < cols) {
        __mmask16 m = __mmask16((1u << (cols - k)) - 1u);
        __m512 xv[TB];
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) xv[t] = _mm512_maskz_loadu_ps(m, x + t * ldx + k);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            __m512 wv = load_w_tail<WT>(w + r * wstride, k, m);
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <WeightType WT, int R>
inline void row_block(const uint8_t *w, size_t wstride, const float *x, int64_t ldx, int64_t n_tokens, float *y,
                      int64_t ldy, int64_t cols) {
    int64_t t = 0;
    for (; t + 4 <= n_tokens; t += 4) tile<WT, R, 4>(w, wstride, x + t * ldx, ldx, y + t * ldy, ldy, cols);
    switch (n_tokens - t) {
        case 3: tile<WT, R, 3>(w, wstride, x + t * ldx, ldx, y + t * ldy, ldy, cols); break;
        case 2: tile<WT, R, 2>(w, wstride, x + t * ldx, ldx, y + t * ldy, ldy, cols); break;
        case 1: tile<WT, R, 1>(w, wstride, x + t * ldx, ldx, y + t * ldy, ldy, cols); break;
        default: break;
    }
}

template <WeightType WT>
void matmul_t(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
              int64_t r1) {
    const size_t wstride = size_t(w.stride) * (WT == WeightType::F32 ? 4 : 2);
    const uint8_t *base = static_cast<const uint8_t *>(w.data);
    int64_t block = kBlockBytes / (w.cols * 4 + 1);
    block = block < 8 ? 8 : (block > 64 ? 64 : block & ~int64_t(3));
    for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
        int64_t tn = n_tokens - t0 < block ? n_tokens - t0 : block;
        const float *xb = x + t0 * ldx;
        float *yb = y + t0 * ldy;
        int64_t r = r0;
        // Decode: 8 row streams in flight; more tokens: 4 rows x 4 tokens.
        if (tn == 1)
            for (; r + 8 <= r1; r += 8) tile<WT, 8, 1>(base + r * wstride, wstride, xb, ldx, yb + r, ldy, w.cols);
        for (; r + 4 <= r1; r += 4) row_block<WT, 4>(base + r * wstride, wstride, xb, ldx, tn, yb + r, ldy, w.cols);
        for (; r < r1; ++r) row_block<WT, 1>(base + r * wstride, wstride, xb, ldx, tn, yb + r, ldy, w.cols);
    }
}

void matmul(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
            int64_t r1) {
    switch (w.type) {
        case WeightType::F32: return matmul_t<WeightType::F32>(w, x, ldx, n_tokens, y, ldy, r0, r1);
        case WeightType::BF16: return matmul_t<WeightType::BF16>(w, x, ldx, n_tokens, y, ldy, r0, r1);
        case WeightType::F16: return matmul_t<WeightType::F16>(w, x, ldx, n_tokens, y, ldy, r0, r1);
    }
}

float read_sum(const void *data, size_t bytes) {
    const __m512i *p = static_cast<const __m512i *>(data);
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    size_t n = bytes / 64;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a = _mm512_xor_si512(a, _mm512_load_si512(p + i));
        b = _mm512_xor_si512(b, _mm512_load_si512(p + i + 1));
        c = _mm512_xor_si512(c, _mm512_load_si512(p + i + 2));
        d = _mm512_xor_si512(d, _mm512_load_si512(p + i + 3));
    }
    for (; i < n; ++i) a = _mm512_xor_si512(a, _mm512_load_si512(p + i));
    a = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
    return float(_mm512_reduce_add_epi32(a));
}

}  // namespace

const Kernels &avx512_kernels() {
    static const Kernels k{"avx512", matmul, read_sum};
    return k;
}

}  // namespace rwkv5::cpu
