#include "SamplerExp.h"

#include <algorithm>
#include <cstring>

namespace rwkv5 {

namespace {

// exp(x) for x <= 0 without branches, so the loop below vectorises: x is
// clamped at -708 (e^-708 is far below float32's least subnormal, and a
// sum that holds e^0 = 1 cannot see it), split as k*ln2 + r with |r| <=
// ln2/2 (Cody-Waite), exp(r) by its Taylor series to r^13 (truncation
// below 2e-17), scaled by 2^k built from the exponent bits.
inline double exp_nonpositive(double x) {
    x = std::max(x, -708.0);
    const double shifter = 0x1.8p52;
    const double kd = x * 0x1.71547652b82fep0 + shifter;  // round(x / ln2) in the low mantissa bits
    uint64_t ki;
    std::memcpy(&ki, &kd, 8);
    const double k = kd - shifter;
    const double r = (x - k * 0x1.62e42fefa3800p-1) - k * 0x1.ef35793c7673p-45;
    double p = 1.0 / 6227020800.0;  // 1/13!
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const uint64_t scale_bits = (ki + 1023) << 52;  // k + 1023 in [1, 1023]: a normal 2^k
    double scale;
    std::memcpy(&scale, &scale_bits, 8);
    return p * scale;
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2,fma", "default")))
double exp_shifted(const float *x, int32_t n, float max, float *out, double *out64) {
    const double m = max;
    for (int32_t i = 0; i < n; ++i) {
        const double e = exp_nonpositive(double(x[i]) - m);
        out64[i] = e;
        out[i] = float(e);
    }
    // Eight running sums: vectorised, and within a few ulp of the oracle's
    // sequential sum (a probability moves only if it lies that close to a
    // float32 rounding boundary).
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] += out64[i + j];
    double sum = 0;
    for (; i < n; ++i) sum += out64[i];
    for (double a : acc) sum += a;
    return sum;
}

}  // namespace rwkv5
