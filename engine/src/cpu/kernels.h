// CPU compute kernels, one table per instruction set, chosen once at run time
// (cpuid) so one binary runs on any x86-64 host.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rwkv5::cpu {

enum class WeightType : uint8_t { F32, BF16, F16 };

size_t weight_type_size(WeightType type);

// A weight matrix as stored: [rows = out, cols = in], row-major, `stride`
// elements between rows.
struct MatView {
    const void *data;
    WeightType type;
    int64_t rows, cols, stride;
};

struct Kernels {
    const char *name;
    // Y[t*ldy + r] = sum_k W[r][k] * X[t*ldx + k] for r in [r0, r1), t in
    // [0, T): every output is one full-length fp32 dot product whose summation
    // order depends only on the kernel table and `cols`, never on T, r0/r1 or
    // the row's position, so a row gives the same bits in any batch.
    void (*matmul)(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy,
                   int64_t r0, int64_t r1);
    // Reads `bytes` (a multiple of 64, 64-byte aligned) with the vector loads
    // of the kernels and returns a value depending on them (bandwidth probe).
    float (*read_sum)(const void *data, size_t bytes);
};

const Kernels &scalar_kernels();
const Kernels &avx2_kernels();    // only call when the host has AVX2+FMA+F16C
const Kernels &avx512_kernels();  // only call when the host has AVX-512 F/BW/VL/DQ

bool host_has_avx2();
bool host_has_avx512();

// The table for this host; env RWKV5_CPU_KERNEL=scalar|avx2|avx512 forces a
// lower one (tests use it to compare against the scalar reference).
const Kernels &host_kernels();

}  // namespace rwkv5::cpu
