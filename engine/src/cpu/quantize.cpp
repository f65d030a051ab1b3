#include "cpu/quantize.h"

#include <algorithm>
#include <cmath>

#include "cpu/kernels.h"

namespace rwkv5::cpu {

void quantize_row(const float *w, int64_t cols, int8_t *q, float *scales) {
    for (int64_t c0 = 0, b = 0; c0 < cols; c0 += kQuantBlock, ++b) {
        const int64_t c1 = std::min(cols, c0 + kQuantBlock);
        float amax = 0.0f;
        for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(w[c]));
        const float scale = amax / 127.0f;
        scales[b] = scale;
        for (int64_t c = c0; c < c1; ++c) {
            const float v = scale > 0.0f ? std::nearbyint(w[c] / scale) : 0.0f;
            q[c] = int8_t(std::max(-127.0f, std::min(127.0f, v)));
        }
    }
}

}  // namespace rwkv5::cpu
