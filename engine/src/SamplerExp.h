// The softmax numerators of host sampling, vectorised: the oracle takes
// float32(exp(double(x) - max)) per id, and the cost of 65,536 scalar double
// exponentials would dominate a sampled token.
#pragma once

#include <cstdint>

namespace rwkv5 {

// out[i] = float(e_i), out64[i] = e_i, e_i = exp(double(x[i]) - double(max))
// within 2 ulp of double (so float(e_i) is the correctly rounded float32 but
// for values within 2^-51 of a rounding boundary); returns the sum of the e_i.
// Expects max >= every x[i]; -inf inputs give 0 (to within 1e-307).
double exp_shifted(const float *x, int32_t n, float max, float *out, double *out64);

}  // namespace rwkv5
