// CPU compute kernels, one table per instruction set, chosen once at run time
// (cpuid) so one binary runs on any x86-64 host.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rwkv5::cpu {

// I8: int8 weights with one fp32 scale per kQuantBlock columns of a row
// (the MatView's `scales`); a weight is float(q) * scale.
enum class WeightType : uint8_t { F32, BF16, F16, I8 };

size_t weight_type_size(WeightType type);

// Columns per int8 scale, chosen by measurement on the golden fixtures (max
// KL(golden || int8) over the sequence rows, deep / tiny / world fixture; the
// deep fixture's max WKV state error; scale bytes per weight):
//   16: 2.0e-3 / 1.1e-3 / 4.9e-4, 0.55, 0.25     32: 3.7e-3 / 1.5e-3 / 5.9e-4, 0.61, 0.125
//   64: 2.8e-3 / 1.5e-3 / 1.4e-3, 0.80, 0.0625   128: 3.9e-3 / 1.9e-3 / 1.2e-3, 0.87, 0.031
// Below 64 the error barely moves while the scales' share of every decode
// read doubles; 128 is worse on every fixture. Rounding: to nearest with
// scale = max|w| / 127; a per-block MSE search over 40 smaller scales gave no
// consistent gain (64: 3.0e-3 / 1.4e-3 / 1.4e-3, 0.70) for 40x the load work.
// A multiple of every kernel's vector width (16) and a power of two.
constexpr int64_t kQuantBlock = 64;

// Scales per row of an int8 matrix with `cols` columns (the last block may be short).
inline int64_t quant_blocks(int64_t cols) { return (cols + kQuantBlock - 1) / kQuantBlock; }

// The packed layout: rows in groups of kPackRows, and inside a group the
// pack_cols()-wide column chunks of its rows interleaved, so a one-token
// product over a group reads its weights in address order: one sequential
// stream per thread, like a plain memory read, instead of kPackRows short row
// streams that the hardware prefetchers pick up late. A bf16 chunk is 32
// columns (64 bytes) with columns j and j + 16 in the low and high half of
// one 32-bit word: a shift and a mask then give the two fp32 vectors of the
// chunk, where widening 16 columns at a time costs a shuffle each. An int8
// chunk is one quantization block (64 columns, a cache line per row).
constexpr int64_t kPackRows = 8;

constexpr int64_t pack_cols(WeightType type) {
    return type == WeightType::BF16 ? 32 : type == WeightType::I8 ? kQuantBlock : 16;
}

// Whether a [rows, cols] matrix of `type` can be packed.
inline bool packable(WeightType type, int64_t rows, int64_t cols) {
    return rows % kPackRows == 0 && cols % pack_cols(type) == 0;
}

// Element index of (r, c) in a packed [rows, cols] matrix of `type`.
inline int64_t packed_index(int64_t r, int64_t c, int64_t cols, WeightType type) {
    const int64_t pc = pack_cols(type), j = c % pc;
    const int64_t in_chunk = type == WeightType::BF16 ? (j < 16 ? 2 * j : 2 * (j - 16) + 1) : j;
    return (r / kPackRows) * kPackRows * cols + (c / pc) * kPackRows * pc + (r % kPackRows) * pc + in_chunk;
}

// Writes row r ([cols] elements of `type`, row-major) into the packed matrix at `packed`.
void pack_row(const void *row, WeightType type, int64_t r, int64_t cols, void *packed);

// A weight matrix as stored: [rows = out, cols = in], row-major with `stride`
// elements between rows, or packed (then stride == cols).
struct MatView {
    const void *data;
    WeightType type;
    int64_t rows, cols, stride;
    bool packed = false;
    // I8 only: [rows, quant_blocks(cols)] row-major, whatever the weights' layout.
    const float *scales = nullptr;
};

// Bytes a matrix occupies (and one product reads): its weights plus their scales.
uint64_t matrix_bytes(const MatView &w);

struct Kernels {
    const char *name;
    // Whether matmul takes packed matrices (the loader packs for such a table).
    bool takes_packed;
    // Y[t*ldy + r] = sum_k W[r][k] * X[t*ldx + k] for r in [r0, r1), t in
    // [0, T): every output is one full-length fp32 dot product whose summation
    // order depends only on the kernel table and `cols`, never on T, r0/r1 or
    // the row's position, so a row gives the same bits in any batch.
    void (*matmul)(const MatView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy,
                   int64_t r0, int64_t r1);
    // One token of one head's WKV recurrence (docs/rwkv5.md §5), head size n:
    // o[j] = sum_i r[i] * (u[i] * k[i] * v[j] + S[i][j]) summed over i in
    // order, then S[i][j] = k[i] * v[j] + w[i] * S[i][j]. Separate multiplies
    // and adds (never fused), so every table gives the reference's bits.
    void (*wkv)(const float *r, const float *k, const float *v, const float *u, const float *w, float *S, float *o,
                int64_t n);
    // Reads `bytes` (a multiple of 64, 64-byte aligned) with the vector loads
    // of the kernels and returns a value depending on them (bandwidth probe).
    float (*read_sum)(const void *data, size_t bytes);
};

// The plain-loop WKV, shared by the tables without their own.
void wkv_reference(const float *r, const float *k, const float *v, const float *u, const float *w, float *S, float *o,
                   int64_t n);

const Kernels &scalar_kernels();
const Kernels &avx2_kernels();    // only call when the host has AVX2+FMA+F16C
const Kernels &avx2_vnni_kernels();  // only call when the host has those and AVX-VNNI
const Kernels &avx512_kernels();  // only call when the host has AVX-512 F/BW/VL/DQ
const Kernels &avx512_vnni_kernels();  // only call when the host has those and AVX-512 VNNI

bool host_has_avx2();
bool host_has_avx2_vnni();
bool host_has_avx512();
bool host_has_avx512_vnni();

// The table for this host; env RWKV5_CPU_KERNEL=scalar|avx2|avx2vnni|avx512|avx512vnni
// forces a lower one (tests use it to compare against the scalar reference).
const Kernels &host_kernels();

}  // namespace rwkv5::cpu
