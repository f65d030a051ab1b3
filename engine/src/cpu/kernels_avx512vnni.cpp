// AVX-512 VNNI kernels for int8 weights (compiled with -mavx512vnni on top of
// the AVX-512 flags; only reached through host_kernels() on a host that has
// it). Every other weight type and the WKV are the AVX-512 table's.
//
// An int8 product here is integer: each token's activations are rounded to
// int16 with one scale (max|x| / 32767, round to nearest even: an error of at
// most 1/65534 of the largest, which moves a product by ~3e-4 of its size even
// when the largest is 30 times the typical value, as after the FFN's relu^2;
// the weights' rounding moves it by ~2e-3; the goldens' figures do not move),
// vpdpwssd sums a block's int16 x int16 products exactly in int32, and the
// block's sum enters the row's fp32 accumulator once, times the block's weight
// scale; the row's sum is times the token's scale. A block costs 4
// instructions per token where widening, scaling and FMA-ing its 64 weights
// in fp32 costs 16: decode is left bound by memory, as it should be, and
// prefill has fewer instructions than the 16-bit path's. One scale per token
// rather than per block saves a multiply per block and token, ~20 % of prefill.
// Activations are quantized per token, the same way in any batch, so a row
// still gives the same bits for any T or row range.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdlib>

#include "cpu/kernels.h"
#include "cpu/kernels_common.h"

namespace rwkv5::cpu {
namespace {

static_assert(kQuantBlock == 64, "a block is two 32-column vpdpwssd steps");

// How far ahead a streaming pass prefetches: 4 KB is about the bytes one core
// must have in flight to read at its share of the bandwidth (Little's law,
// ~30 GB/s x ~100 ns). Measured side by side on a 2-core Zen 5 (65 GB/s):
// 1-slot decode +5-10 % on int8 and +2-5 % on 16-bit over 1 KB; 8 KB is
// slower again.
constexpr int64_t kPrefetchBytes = 4096;
// Rows x tokens of a tile: 16 accumulators, 4 (or 8) activation vectors, 2
// widened weight vectors.
constexpr int kRows = 8, kTokens = 2, kManyRows = 4, kManyTokens = 4;

void quantize_x(const float *x, int64_t ldx, int64_t n, int64_t cols, const QuantX &qx) {
    auto mask = [&](int64_t c) {
        const int64_t left = cols - c;
        return left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
    };
    for (int64_t t = 0; t < n; ++t) {
        const float *xt = x + t * ldx;
        __m512 amax = _mm512_setzero_ps();
        for (int64_t c = 0; c < cols; c += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_maskz_loadu_ps(mask(c), xt + c)));
        const float mx = _mm512_reduce_max_ps(amax);
        qx.s[t] = mx / 32767.0f;
        const __m512 inv = _mm512_set1_ps(mx > 0.0f ? 32767.0f / mx : 0.0f);
        int16_t *q = qx.q + t * qx.qstride;
        for (int64_t c = 0; c < qx.blocks * kQuantBlock; c += 16)
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(q + c),
                                _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask(c), xt + c), inv))));
    }
}

// 32 int8 weights widened to int16; `m` masks the columns past the row's end.
inline __m512i widen(const uint8_t *p, __mmask32 m) {
    return _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, p));
}

inline __mmask32 cols_mask(int64_t left) {
    return left >= 32 ? __mmask32(0xffffffffu) : left <= 0 ? __mmask32(0) : __mmask32((1u << left) - 1u);
}

// R rows x TB tokens. Block b of row i is at w + i * rstep + b * kstep (64
// bytes); its scale at s[i * sstep + b]. Per (row, token) one fp32
// accumulator over the blocks in order, whatever R, TB or the layout.
template <int R, int TB>
inline void tile(const uint8_t *w, size_t rstep, size_t kstep, const float *s, int64_t sstep, const QuantX &qx,
                 float *y, int64_t ldy, int64_t cols, bool stream) {
    __m512 acc[R][TB];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_setzero_ps();
    const uint8_t *c = w;
    for (int64_t b = 0; b < qx.blocks; ++b, c += kstep) {
        const int64_t left = cols - b * kQuantBlock;
        const __mmask32 m0 = cols_mask(left), m1 = cols_mask(left - 32);
        __m512i x0[TB], x1[TB];
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) {
            const int16_t *q = qx.q + t * qx.qstride + b * kQuantBlock;
            x0[t] = _mm512_loadu_si512(q);
            x1[t] = _mm512_loadu_si512(q + 32);
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const uint8_t *p = c + r * rstep;
            if (stream) _mm_prefetch(reinterpret_cast<const char *>(p) + kPrefetchBytes, _MM_HINT_T0);
            const __m512i w0 = widen(p, m0), w1 = widen(p + 32, m1);
            const __m512 ws = _mm512_set1_ps(s[r * sstep + b]);
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) {
                // vpmaddwd starts the sum without a zeroed register to overwrite.
                const __m512i d = _mm512_dpwssd_epi32(_mm512_madd_epi16(w0, x0[t]), w1, x1[t]);
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), ws, acc[r][t]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]) * qx.s[t];
}

// R rows over n tokens, TB at a time: the first pass streams them from
// memory, the next read them from cache.
template <int R, int TB>
inline void rows_over_tokens(const uint8_t *w, size_t rstep, size_t kstep, const float *s, int64_t sstep,
                             const QuantX &qx, int64_t n, float *y, int64_t ldy, int64_t cols) {
    int64_t t = 0;
    for (; t + TB <= n; t += TB) tile<R, TB>(w, rstep, kstep, s, sstep, qx.from(t), y + t * ldy, ldy, cols, t == 0);
    for (; t + 2 <= n; t += 2) tile<R, 2>(w, rstep, kstep, s, sstep, qx.from(t), y + t * ldy, ldy, cols, t == 0);
    if (t < n) tile<R, 1>(w, rstep, kstep, s, sstep, qx.from(t), y + t * ldy, ldy, cols, t == 0);
}

template <int R, int TB>
inline void rows_in_tiles(const uint8_t *w, size_t rstep, size_t kstep, const float *s, int64_t sstep, const QuantX &qx,
                          int64_t n, float *y, int64_t ldy, int64_t n_rows, int64_t cols) {
    int64_t r = 0;
    for (; r + R <= n_rows; r += R)
        rows_over_tokens<R, TB>(w + r * rstep, rstep, kstep, s + r * sstep, sstep, qx, n, y + r, ldy, cols);
    for (; r + 4 <= n_rows; r += 4)
        rows_over_tokens<4, TB>(w + r * rstep, rstep, kstep, s + r * sstep, sstep, qx, n, y + r, ldy, cols);
    for (; r < n_rows; ++r)
        rows_over_tokens<1, TB>(w + r * rstep, rstep, kstep, s + r * sstep, sstep, qx, n, y + r, ldy, cols);
}

// A tile's shape follows the tokens: one or two tokens want many rows (each
// widened weight feeds few products, so more independent accumulators keep
// the pipes busy), four or more want many tokens per widened weight.
inline void rows_of(const uint8_t *w, size_t rstep, size_t kstep, const float *s, int64_t sstep, const QuantX &qx,
                    int64_t n, float *y, int64_t ldy, int64_t n_rows, int64_t cols) {
    if (n >= kManyTokens) return rows_in_tiles<kManyRows, kManyTokens>(w, rstep, kstep, s, sstep, qx, n, y, ldy, n_rows, cols);
    rows_in_tiles<kRows, kTokens>(w, rstep, kstep, s, sstep, qx, n, y, ldy, n_rows, cols);
}

void matmul_i8(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
               int64_t r1) {
    const uint8_t *base = static_cast<const uint8_t *>(w.data);
    const int64_t cols = w.cols, blocks = quant_blocks(cols);
    vnni_matmul(w, x, ldx, n_tokens, y, ldy, r0, r1, avx512_kernels(), quantize_x, [&](const QuantX &qx, int64_t tn, float *yb) {
        if (!w.packed) {
            const size_t rstep = size_t(w.stride);
            rows_of(base + r0 * rstep, rstep, kQuantBlock, w.scales + r0 * blocks, blocks, qx, tn, yb + r0, ldy, r1 - r0,
                    cols);
            return;
        }
        // Packed (64-column chunks, pack_cols()): rows are uniformly addressed within one group only.
        const size_t rstep = kQuantBlock, kstep = kPackRows * kQuantBlock;
        for (int64_t g0 = r0 - r0 % kPackRows; g0 < r1; g0 += kPackRows) {
            const int64_t lo = r0 > g0 ? r0 : g0, hi = r1 < g0 + kPackRows ? r1 : g0 + kPackRows;
            const uint8_t *gw = base + size_t(g0 * cols) + size_t(lo - g0) * rstep;
            rows_of(gw, rstep, kstep, w.scales + lo * blocks, blocks, qx, tn, yb + lo, ldy, hi - lo, cols);
        }
    });
}

void matmul(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
            int64_t r1) {
    if (w.type == WeightType::I8) return matmul_i8(w, x, ldx, n_tokens, y, ldy, r0, r1);
    avx512_kernels().matmul(w, x, ldx, n_tokens, y, ldy, r0, r1);
}

}  // namespace

const Kernels &avx512_vnni_kernels() {
    static const Kernels k{"avx512vnni", true, matmul, avx512_kernels().wkv, avx512_kernels().read_sum};
    return k;
}

}  // namespace rwkv5::cpu
