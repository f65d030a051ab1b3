// The int8 weights' quantizer (WeightType::I8), one row at a time.
#pragma once

#include <cstdint>

namespace rwkv5::cpu {

// Quantizes a row of `cols` weights: per block of kQuantBlock columns (the
// last may be short), scale = max|w| / 127 and q = round-to-nearest(w /
// scale), so a block's largest weight is exact and every other is within half
// a step; an all-zero block gets scale 0. Writes cols values to q and
// quant_blocks(cols) to scales.
void quantize_row(const float *w, int64_t cols, int8_t *q, float *scales);

}  // namespace rwkv5::cpu
