// AVX-VNNI kernels for int8 weights on AVX2 hosts (compiled with -mavxvnni
// on top of the AVX2 flags; only reached through host_kernels() on a host
// that has it): the AVX-512 VNNI table's arithmetic (see its file) with 8
// lanes. Every other weight type and the WKV are the AVX2 table's. Row-major
// matrices only, like the AVX2 table.
#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cpu/kernels.h"
#include "cpu/kernels_common.h"

namespace rwkv5::cpu {
namespace {

static_assert(kQuantBlock == 64, "a block is four 16-column vpdpwssd steps");

// Rows x tokens of a tile: 8 accumulators, 8 activation vectors.
constexpr int kRows = 4, kTokens = 2;

void quantize_x(const float *x, int64_t ldx, int64_t n, int64_t cols, const QuantX &qx) {
    for (int64_t t = 0; t < n; ++t) {
        const float *xt = x + t * ldx;
        int16_t *q = qx.q + t * qx.qstride;
        float mx = 0.0f;
        for (int64_t c = 0; c < cols; ++c) mx = std::fmax(mx, std::fabs(xt[c]));
        qx.s[t] = mx / 32767.0f;
        const float inv = mx > 0.0f ? 32767.0f / mx : 0.0f;
        for (int64_t c = 0; c < cols; ++c) q[c] = int16_t(std::nearbyint(xt[c] * inv));
        for (int64_t c = cols; c < qx.blocks * kQuantBlock; ++c) q[c] = 0;
    }
}

// 16 int8 weights widened to int16.
inline __m256i widen(const uint8_t *p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}

// R rows x TB tokens; row i at w + i * rstep, its block b's scale at s[i *
// sstep + b]. Per (row, token) one fp32 accumulator over the blocks in order.
template <int R, int TB>
inline void tile(const uint8_t *w, size_t rstep, const float *s, int64_t sstep, const QuantX &qx, float *y,
                 int64_t ldy, int64_t cols) {
    __m256 acc[R][TB];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < qx.blocks; ++b) {
        const int64_t c0 = b * kQuantBlock;
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const uint8_t *p = w + r * rstep + c0;
            __m256i wv[4];
            if (c0 + kQuantBlock <= cols) {
#pragma GCC unroll 4
                for (int i = 0; i < 4; ++i) wv[i] = widen(p + 16 * i);
            } else {
                // The short last block from a zero-padded copy: no read past the row.
                alignas(16) uint8_t tail[kQuantBlock] = {};
                std::memcpy(tail, p, size_t(cols - c0));
#pragma GCC unroll 4
                for (int i = 0; i < 4; ++i) wv[i] = widen(tail + 16 * i);
            }
            const __m256 ws = _mm256_set1_ps(s[r * sstep + b]);
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) {
                const int16_t *q = qx.q + t * qx.qstride + c0;
                __m256i d = _mm256_setzero_si256();
#pragma GCC unroll 4
                for (int i = 0; i < 4; ++i)
                    d = _mm256_dpwssd_avx_epi32(d, wv[i], _mm256_loadu_si256(reinterpret_cast<const __m256i *>(q + 16 * i)));
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), ws, acc[r][t]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) {
            __m128 v = _mm_add_ps(_mm256_castps256_ps128(acc[r][t]), _mm256_extractf128_ps(acc[r][t], 1));
            v = _mm_add_ps(v, _mm_movehl_ps(v, v));
            v = _mm_add_ss(v, _mm_movehdup_ps(v));
            y[t * ldy + r] = _mm_cvtss_f32(v) * qx.s[t];
        }
}

template <int R>
inline void rows_over_tokens(const uint8_t *w, size_t rstep, const float *s, int64_t sstep, const QuantX &qx,
                             int64_t n, float *y, int64_t ldy, int64_t cols) {
    int64_t t = 0;
    for (; t + kTokens <= n; t += kTokens) tile<R, kTokens>(w, rstep, s, sstep, qx.from(t), y + t * ldy, ldy, cols);
    if (t < n) tile<R, 1>(w, rstep, s, sstep, qx.from(t), y + t * ldy, ldy, cols);
}

void matmul_i8(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
               int64_t r1) {
    const uint8_t *base = static_cast<const uint8_t *>(w.data);
    const size_t rstep = size_t(w.stride);
    const int64_t cols = w.cols, blocks = quant_blocks(cols);
    vnni_matmul(w, x, ldx, n_tokens, y, ldy, r0, r1, avx2_kernels(), quantize_x, [&](const QuantX &qx, int64_t tn, float *yb) {
        int64_t r = r0;
        for (; r + kRows <= r1; r += kRows)
            rows_over_tokens<kRows>(base + r * rstep, rstep, w.scales + r * blocks, blocks, qx, tn, yb + r, ldy, cols);
        for (; r < r1; ++r)
            rows_over_tokens<1>(base + r * rstep, rstep, w.scales + r * blocks, blocks, qx, tn, yb + r, ldy, cols);
    });
}

void matmul(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
            int64_t r1) {
    if (w.type == WeightType::I8) return matmul_i8(w, x, ldx, n_tokens, y, ldy, r0, r1);
    avx2_kernels().matmul(w, x, ldx, n_tokens, y, ldy, r0, r1);
}

}  // namespace

const Kernels &avx2_vnni_kernels() {
    static const Kernels k{"avx2vnni", false, matmul, avx2_kernels().wkv, avx2_kernels().read_sum};
    return k;
}

}  // namespace rwkv5::cpu
