// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c; only reached
// through host_kernels() on a host that has them). Same structure as the
// AVX-512 file with 8 lanes; no standard-library templates for the same reason.
#include <immintrin.h>

#include <cstring>

#include "cpu/kernels.h"
#include "cpu/kernels_common.h"

namespace rwkv5::cpu {
namespace {

template <WeightType WT>
inline __m256 load_w(const uint8_t *row, int64_t k) {
    if constexpr (WT == WeightType::F32) {
        return _mm256_loadu_ps(reinterpret_cast<const float *>(row) + k);
    } else if constexpr (WT == WeightType::BF16) {
        __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(row + 2 * k));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    } else if constexpr (WT == WeightType::F16) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(row + 2 * k)));
    } else {
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(row + k))));
    }
}

// An int8 weight vector times its block's scale (the exact float(q) * scale
// of the scalar table); other types are used as loaded.
template <WeightType WT>
inline __m256 scaled(__m256 wv, const float *scales, int64_t k) {
    if constexpr (WT == WeightType::I8) {
        return _mm256_mul_ps(wv, _mm256_set1_ps(scales[k / kQuantBlock]));
    } else {
        return wv;
    }
}

// Zero-padded copy of a row's last (< 8) elements, so the tail runs the same
// vector code as the body.
template <WeightType WT>
inline __m256 load_w_tail(const uint8_t *row, int64_t k, int64_t n) {
    alignas(32) uint8_t buf[32] = {};
    std::memcpy(buf, row + kWeightSize<WT> * k, size_t(n) * kWeightSize<WT>);
    return load_w<WT>(buf, 0);
}

inline __m256 load_x_tail(const float *x, int64_t n) {
    alignas(32) float buf[8] = {};
    std::memcpy(buf, x, size_t(n) * 4);
    return _mm256_load_ps(buf);
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Row i at w + i * wstride, its int8 scales at s + i * sstep.
template <WeightType WT, int R, int TB>
inline void tile(const uint8_t *w, size_t wstride, const float *s, int64_t sstep, const float *x, int64_t ldx,
                 float *y, int64_t ldy, int64_t cols) {
    __m256 acc[R][TB];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= cols; k += 8) {
        __m256 xv[TB];
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) xv[t] = _mm256_loadu_ps(x + t * ldx + k);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            __m256 wv = scaled<WT>(load_w<WT>(w + r * wstride, k), s + r * sstep, k);
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    if (k < cols) {
        __m256 xv[TB];
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) xv[t] = load_x_tail(x + t * ldx + k, cols - k);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            __m256 wv = scaled<WT>(load_w_tail<WT>(w + r * wstride, k, cols - k), s + r * sstep, k);
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) y[t * ldy + r] = hsum(acc[r][t]);
}

template <WeightType WT, int R>
inline void row_block(const uint8_t *w, size_t wstride, const float *s, int64_t sstep, const float *x, int64_t ldx,
                      int64_t n_tokens, float *y, int64_t ldy, int64_t cols) {
    int64_t t = 0;
    for (; t + 2 <= n_tokens; t += 2) tile<WT, R, 2>(w, wstride, s, sstep, x + t * ldx, ldx, y + t * ldy, ldy, cols);
    if (t < n_tokens) tile<WT, R, 1>(w, wstride, s, sstep, x + t * ldx, ldx, y + t * ldy, ldy, cols);
}

template <WeightType WT>
void matmul_t(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
              int64_t r1) {
    const size_t wstride = size_t(w.stride) * kWeightSize<WT>;
    const uint8_t *base = static_cast<const uint8_t *>(w.data);
    const int64_t block = token_block(w.cols);
    const int64_t sstep = WT == WeightType::I8 ? quant_blocks(w.cols) : 0;
    const float *scales = WT == WeightType::I8 ? w.scales : &kNoScales;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
        int64_t tn = n_tokens - t0 < block ? n_tokens - t0 : block;
        const float *xb = x + t0 * ldx;
        float *yb = y + t0 * ldy;
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4)
            row_block<WT, 4>(base + r * wstride, wstride, scales + r * sstep, sstep, xb, ldx, tn, yb + r, ldy, w.cols);
        for (; r < r1; ++r)
            row_block<WT, 1>(base + r * wstride, wstride, scales + r * sstep, sstep, xb, ldx, tn, yb + r, ldy, w.cols);
    }
}

void matmul(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
            int64_t r1) {
    visit_weight_type(w.type, [&](auto wt) { matmul_t<decltype(wt)::value>(w, x, ldx, n_tokens, y, ldy, r0, r1); });
}

float read_sum(const void *data, size_t bytes) {
    const __m256i *p = static_cast<const __m256i *>(data);
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    size_t n = bytes / 32;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a = _mm256_xor_si256(a, _mm256_load_si256(p + i));
        b = _mm256_xor_si256(b, _mm256_load_si256(p + i + 1));
        c = _mm256_xor_si256(c, _mm256_load_si256(p + i + 2));
        d = _mm256_xor_si256(d, _mm256_load_si256(p + i + 3));
    }
    for (; i < n; ++i) a = _mm256_xor_si256(a, _mm256_load_si256(p + i));
    a = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    return float(_mm256_extract_epi32(a, 0) ^ _mm256_extract_epi32(a, 7));
}

}  // namespace

const Kernels &avx2_kernels() {
    static const Kernels k{"avx2", false, matmul, wkv_reference, read_sum};
    return k;
}

}  // namespace rwkv5::cpu
