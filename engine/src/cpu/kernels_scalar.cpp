// The reference kernels: plain loops, in-order fp32 summation.
#include "cpu/half.h"
#include "cpu/kernels.h"
#include "cpu/kernels_common.h"

namespace rwkv5::cpu {
namespace {

// `scales` is the row's int8 scales (I8 only).
template <WeightType WT>
float weight_at(const void *row, const float *scales, int64_t k) {
    if constexpr (WT == WeightType::F32) {
        return static_cast<const float *>(row)[k];
    } else if constexpr (WT == WeightType::BF16) {
        return bf16_to_f32(static_cast<const uint16_t *>(row)[k]);
    } else if constexpr (WT == WeightType::F16) {
        return f16_to_f32(static_cast<const uint16_t *>(row)[k]);
    } else {
        return float(static_cast<const int8_t *>(row)[k]) * scales[k / kQuantBlock];
    }
}

template <WeightType WT>
void matmul_t(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
              int64_t r1) {
    constexpr size_t esize = kWeightSize<WT>;
    for (int64_t r = r0; r < r1; ++r) {
        const void *row = static_cast<const uint8_t *>(w.data) + size_t(r) * size_t(w.stride) * esize;
        const float *scales = w.scales ? w.scales + r * quant_blocks(w.cols) : nullptr;
        for (int64_t t = 0; t < n_tokens; ++t) {
            const float *xt = x + t * ldx;
            float s = 0.0f;
            for (int64_t k = 0; k < w.cols; ++k) s += weight_at<WT>(row, scales, k) * xt[k];
            y[t * ldy + r] = s;
        }
    }
}

void matmul(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, int64_t r0,
            int64_t r1) {
    visit_weight_type(w.type, [&](auto wt) { matmul_t<decltype(wt)::value>(w, x, ldx, n_tokens, y, ldy, r0, r1); });
}

float read_sum(const void *data, size_t bytes) {
    const uint64_t *p = static_cast<const uint64_t *>(data);
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i + 2 <= bytes / 8; i += 2) {
        a ^= p[i];
        b ^= p[i + 1];
    }
    return float(a ^ b);
}

}  // namespace

void wkv_reference(const float *r, const float *k, const float *v, const float *u, const float *w, float *S, float *o,
                   int64_t n) {
    for (int64_t j = 0; j < n; ++j) o[j] = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        const float ri = r[i], ki = k[i], ui = u[i], wi = w[i];
        float *Si = S + i * n;
        for (int64_t j = 0; j < n; ++j) {
            const float kv = ki * v[j];
            const float s = Si[j];
            o[j] += ri * (ui * kv + s);
            Si[j] = kv + wi * s;
        }
    }
}

const Kernels &scalar_kernels() {
    static const Kernels k{"scalar", false, matmul, wkv_reference, read_sum};
    return k;
}

}  // namespace rwkv5::cpu
