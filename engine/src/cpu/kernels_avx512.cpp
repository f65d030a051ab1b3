// AVX-512 kernels (compiled with -mavx512f/bw/vl/dq; only reached through
// host_kernels() on a host that has them). No standard-library templates
// here: their out-of-line copies could be shared with non-AVX-512 code.
// GCC 12 warns about its own _mm512_undefined_* helpers (a known false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdlib>

#include "cpu/kernels.h"
#include "cpu/kernels_common.h"

namespace rwkv5::cpu {
namespace {

// How far ahead a streaming pass prefetches: 4 KB is about the bytes one core
// must have in flight to read at its share of the bandwidth (Little's law,
// ~30 GB/s x ~100 ns). Measured side by side on a 2-core Zen 5 (65 GB/s):
// 1-slot decode +5-10 % on int8 and +2-5 % on 16-bit over 1 KB; 8 KB is
// slower again.
constexpr int64_t kPrefetchBytes = 4096;

// A tile dimension as a type, for the generic lambda that instantiates tiles.
template <int N>
struct Count {
    static constexpr int value = N;
};

template <WeightType WT>
inline __m512 load_w(const uint8_t *row, int64_t k) {
    if constexpr (WT == WeightType::F32) {
        return _mm512_loadu_ps(reinterpret_cast<const float *>(row) + k);
    } else if constexpr (WT == WeightType::BF16) {
        __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + 2 * k));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else if constexpr (WT == WeightType::F16) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + 2 * k)));
    } else {
        return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(row + k))));
    }
}

template <WeightType WT>
inline __m512 load_w_tail(const uint8_t *row, int64_t k, __mmask16 m) {
    if constexpr (WT == WeightType::F32) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float *>(row) + k);
    } else if constexpr (WT == WeightType::BF16) {
        __m256i h = _mm256_maskz_loadu_epi16(m, row + 2 * k);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else if constexpr (WT == WeightType::F16) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    } else {
        return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, row + k)));
    }
}

// An int8 weight vector times its block's scale (the exact float(q) * scale
// of the scalar table); other types are used as loaded.
template <WeightType WT>
inline __m512 scaled(__m512 wv, const float *scales, int64_t k) {
    if constexpr (WT == WeightType::I8) {
        return _mm512_mul_ps(wv, _mm512_set1_ps(scales[k / kQuantBlock]));
    } else {
        return wv;
    }
}

// R weight rows x TB tokens, one accumulator per (row, token) over the whole
// row: the per-output operation sequence is the same for every R, TB and
// layout. Column chunk j (PC columns: 16 row-major, pack_cols() packed) of row
// i is at w + i * rstep + j * kstep; row i's int8 scales at s + i * sstep.
// Pairs: packed bf16, whose 32-column chunk holds columns j and j + 16 in one
// 32-bit word: the low halves shifted up are columns 0-15, the words masked
// are 16-31, multiplied in that order, so the same operations as two
// 16-column steps of the row-major matrix.
template <WeightType WT, int PC, int R, int TB>
inline void tile(const uint8_t *w, size_t rstep, size_t kstep, const float *s, int64_t sstep, const float *x,
                 int64_t ldx, float *y, int64_t ldy, int64_t cols, bool stream) {
    // A pass that reads its rows from memory (the first over them: the next
    // token tiles find them in cache) is a stream; prefetching ahead keeps
    // more lines in flight than the hardware prefetchers do: along each row,
    // or along the chunk when the R rows of a chunk are contiguous (packed).
    constexpr bool Pairs = WT == WeightType::BF16 && PC == 32;
    constexpr size_t esize = kWeightSize<WT>;
    const bool contiguous = size_t(R) * rstep == kstep;
    __m512 acc[R][TB];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_setzero_ps();
    int64_t k = 0;
    const uint8_t *c = w;
    if constexpr (Pairs) {
        const __m512i high = _mm512_set1_epi32(int(0xffff0000u));
        // cols is a multiple of 32 (packable()).
        for (; k < cols; k += 32, c += kstep) {
            __m512 xlo[TB], xhi[TB];
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) {
                xlo[t] = _mm512_loadu_ps(x + t * ldx + k);
                xhi[t] = _mm512_loadu_ps(x + t * ldx + k + 16);
            }
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                if (stream) _mm_prefetch(reinterpret_cast<const char *>(c + r * rstep) + kPrefetchBytes, _MM_HINT_T0);
                const __m512i wv = _mm512_loadu_si512(c + r * rstep);
                const __m512 lo = _mm512_castsi512_ps(_mm512_slli_epi32(wv, 16));
                const __m512 hi = _mm512_castsi512_ps(_mm512_and_si512(wv, high));
#pragma GCC unroll 8
                for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_fmadd_ps(lo, xlo[t], acc[r][t]);
#pragma GCC unroll 8
                for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_fmadd_ps(hi, xhi[t], acc[r][t]);
            }
        }
    } else {
        for (; k + 16 <= cols; k += 16) {
            // The 16 columns at k, inside their PC-column chunk.
            const uint8_t *ck = c + size_t(k % PC) * esize;
            if ((k + 16) % PC == 0) c += kstep;
            __m512 xv[TB];
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) xv[t] = _mm512_loadu_ps(x + t * ldx + k);
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                if (stream && (k % PC == 0 || PC * esize > 64) && (!contiguous || (r * rstep) % 64 == 0))
                    _mm_prefetch(reinterpret_cast<const char *>(ck + r * rstep) + kPrefetchBytes, _MM_HINT_T0);
                __m512 wv = scaled<WT>(load_w<WT>(ck + r * rstep, 0), s + r * sstep, k);
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
                __m512 wv = scaled<WT>(load_w_tail<WT>(c + size_t(k % PC) * esize + r * rstep, 0, m), s + r * sstep, k);
#pragma GCC unroll 8
                for (int t = 0; t < TB; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

// Tokens up to which a product is a decode: its rows are streamed once from
// memory, 8 rows x 2 tokens per pass (the later passes read them from
// cache), instead of the 4 x 4 tiles that suit many tokens.
constexpr int64_t kStreamTokens = 16;

// n_rows rows, row i at w + i * rstep (scales at s + i * sstep), outputs y[t * ldy + i].
template <WeightType WT, int PC>
inline void rows_of(const uint8_t *w, size_t rstep, size_t kstep, const float *s, int64_t sstep, const float *x,
                    int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t n_rows, int64_t cols) {
    // R rows over all tokens: TB-token tiles, the last one shorter.
    auto rows = [&](auto r_tag, auto tb_tag, int64_t r, bool stream) {
        constexpr int R = decltype(r_tag)::value, TB = decltype(tb_tag)::value;
        const uint8_t *wr = w + r * rstep;
        const float *sr = s + r * sstep;
        int64_t t = 0;
        for (; t + TB <= n_tokens; t += TB)
            tile<WT, PC, R, TB>(wr, rstep, kstep, sr, sstep, x + t * ldx, ldx, y + t * ldy + r, ldy, cols, stream && t == 0);
        const bool first = stream && t == 0;
        switch (n_tokens - t) {
            case 3: tile<WT, PC, R, 3>(wr, rstep, kstep, sr, sstep, x + t * ldx, ldx, y + t * ldy + r, ldy, cols, first); break;
            case 2: tile<WT, PC, R, 2>(wr, rstep, kstep, sr, sstep, x + t * ldx, ldx, y + t * ldy + r, ldy, cols, first); break;
            case 1: tile<WT, PC, R, 1>(wr, rstep, kstep, sr, sstep, x + t * ldx, ldx, y + t * ldy + r, ldy, cols, first); break;
            default: break;
        }
    };
    using One = Count<1>;
    using Two = Count<2>;
    using Four = Count<4>;
    int64_t r = 0;
    if (n_tokens <= kStreamTokens) {
        for (; r + 8 <= n_rows; r += 8) rows(Count<8>{}, Two{}, r, true);
        for (; r + 4 <= n_rows; r += 4) rows(Four{}, Two{}, r, true);
        for (; r < n_rows; ++r) rows(One{}, Two{}, r, true);
        return;
    }
    for (; r + 4 <= n_rows; r += 4) rows(Four{}, Four{}, r, false);
    for (; r < n_rows; ++r) rows(One{}, Four{}, r, false);
}

template <WeightType WT>
void matmul_t(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
              int64_t r1) {
    constexpr size_t esize = kWeightSize<WT>;
    const uint8_t *base = static_cast<const uint8_t *>(w.data);
    const int64_t block = token_block(w.cols);
    const int64_t sstep = WT == WeightType::I8 ? quant_blocks(w.cols) : 0;
    const float *scales = WT == WeightType::I8 ? w.scales : &kNoScales;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
        const int64_t tn = n_tokens - t0 < block ? n_tokens - t0 : block;
        const float *xb = x + t0 * ldx;
        float *yb = y + t0 * ldy;
        if (!w.packed) {
            const size_t rstep = size_t(w.stride) * esize;
            rows_of<WT, 16>(base + r0 * rstep, rstep, 16 * esize, scales + r0 * sstep, sstep, xb, ldx, tn, yb + r0,
                               ldy, r1 - r0, w.cols);
            continue;
        }
        // Packed: rows are uniformly addressed within one group only.
        const int64_t pc = pack_cols(WT);
        const size_t rstep = size_t(pc) * esize, kstep = size_t(kPackRows * pc) * esize;
        for (int64_t g0 = r0 - r0 % kPackRows; g0 < r1; g0 += kPackRows) {
            const int64_t lo = r0 > g0 ? r0 : g0, hi = r1 < g0 + kPackRows ? r1 : g0 + kPackRows;
            const uint8_t *gw = base + size_t(g0 * w.cols) * esize + size_t(lo - g0) * rstep;
            rows_of<WT, pack_cols(WT)>(gw, rstep, kstep, scales + lo * sstep, sstep, xb, ldx, tn, yb + lo, ldy,
                                                hi - lo, w.cols);
        }
    }
}

// Rows of an int8 matrix per dequantized panel, and the fewest tokens for
// which the panel path pays: below it converting each weight once per tile
// (every 4 tokens) costs less than converting and storing it once per block.
constexpr int64_t kPanelRows = 8, kPanelMinTokens = 16;

// Many tokens on int8 weights: each group of kPanelRows rows is dequantized
// once per token block into fp32 (the very float(q) * scale products the tile
// computes) and multiplied as an fp32 matrix, so the conversion is paid once
// per block of tokens instead of once per tile. The same bits as the tile path.
void matmul_i8_panels(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy,
                      int64_t r0, int64_t r1) {
    // Panel rows start on cache lines: a row is cols rounded up to 16 floats.
    const int64_t cols = w.cols, blocks = quant_blocks(cols), pstride = (cols + 15) / 16 * 16;
    float *panel = static_cast<float *>(std::aligned_alloc(64, size_t(kPanelRows * pstride) * 4));
    if (!panel) {
        // Out of memory for 8 rows of scratch: the tile path needs none.
        matmul_t<WeightType::I8>(w, x, ldx, n_tokens, y, ldy, r0, r1);
        return;
    }
    const int8_t *base = static_cast<const int8_t *>(w.data);
    const int64_t block = token_block(cols);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += block) {
        const int64_t tn = n_tokens - t0 < block ? n_tokens - t0 : block;
        for (int64_t r = r0; r < r1; r += kPanelRows) {
            const int64_t n = r1 - r < kPanelRows ? r1 - r : kPanelRows;
            for (int64_t i = 0; i < n; ++i) {
                const float *sc = w.scales + (r + i) * blocks;
                for (int64_t k = 0; k < cols; k += 16) {
                    const int64_t at = w.packed ? packed_index(r + i, k, cols, WeightType::I8) : (r + i) * w.stride + k;
                    const uint8_t *src = reinterpret_cast<const uint8_t *>(base + at);
                    if (k + 16 <= cols) {
                        _mm512_store_ps(panel + i * pstride + k, scaled<WeightType::I8>(load_w<WeightType::I8>(src, 0), sc, k));
                    } else {
                        const __mmask16 m = __mmask16((1u << (cols - k)) - 1u);
                        _mm512_mask_store_ps(panel + i * pstride + k, m,
                                              scaled<WeightType::I8>(load_w_tail<WeightType::I8>(src, 0, m), sc, k));
                    }
                }
            }
            rows_of<WeightType::F32, 16>(reinterpret_cast<const uint8_t *>(panel), size_t(pstride) * 4, 64, &kNoScales, 0,
                                     x + t0 * ldx, ldx, tn, y + t0 * ldy + r, ldy, n, cols);
        }
    }
    std::free(panel);
}

void matmul(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
            int64_t r1) {
    if (w.type == WeightType::I8 && n_tokens >= kPanelMinTokens) return matmul_i8_panels(w, x, ldx, n_tokens, y, ldy, r0, r1);
    visit_weight_type(w.type, [&](auto wt) { matmul_t<decltype(wt)::value>(w, x, ldx, n_tokens, y, ldy, r0, r1); });
}

// Vectorised over j: per output the same operations in the same order as
// wkv_reference. GCC would contract the mul/add pairs into FMAs here.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
void wkv(const float *r, const float *k, const float *v, const float *u, const float *w, float *S, float *o,
         int64_t n) {
    // 64 columns (four independent accumulator chains) per pass.
    for (int64_t j0 = 0; j0 < n; j0 += 64) {
        __mmask16 m[4];
        __m512 vj[4], oj[4];
#pragma GCC unroll 4
        for (int b = 0; b < 4; ++b) {
            const int64_t left = n - j0 - 16 * b;
            m[b] = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
            vj[b] = _mm512_maskz_loadu_ps(m[b], v + j0 + 16 * b);
            oj[b] = _mm512_setzero_ps();
        }
        for (int64_t i = 0; i < n; ++i) {
            const __m512 ki = _mm512_set1_ps(k[i]), ri = _mm512_set1_ps(r[i]), ui = _mm512_set1_ps(u[i]),
                         wi = _mm512_set1_ps(w[i]);
#pragma GCC unroll 4
            for (int b = 0; b < 4; ++b) {
                float *Sij = S + i * n + j0 + 16 * b;
                const __m512 kv = _mm512_mul_ps(ki, vj[b]);
                const __m512 s = _mm512_maskz_loadu_ps(m[b], Sij);
                oj[b] = _mm512_add_ps(oj[b], _mm512_mul_ps(ri, _mm512_add_ps(_mm512_mul_ps(ui, kv), s)));
                _mm512_mask_storeu_ps(Sij, m[b], _mm512_add_ps(kv, _mm512_mul_ps(wi, s)));
            }
        }
#pragma GCC unroll 4
        for (int b = 0; b < 4; ++b) _mm512_mask_storeu_ps(o + j0 + 16 * b, m[b], oj[b]);
    }
}
#pragma GCC pop_options

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
    static const Kernels k{"avx512", true, matmul, wkv, read_sum};
    return k;
}

}  // namespace rwkv5::cpu
