#include "cpu/kernels.h"

#include <cstdlib>
#include <cstring>

namespace rwkv5::cpu {

size_t weight_type_size(WeightType type) {
    switch (type) {
        case WeightType::F32: return 4;
        case WeightType::BF16:
        case WeightType::F16: return 2;
        case WeightType::I8: return 1;
    }
    return 0;
}

uint64_t matrix_bytes(const MatView &w) {
    const uint64_t scales = w.type == WeightType::I8 ? uint64_t(w.rows * quant_blocks(w.cols)) * 4 : 0;
    return uint64_t(w.rows * w.cols) * weight_type_size(w.type) + scales;
}

void pack_row(const void *row, WeightType type, int64_t r, int64_t cols, void *packed) {
    const size_t es = weight_type_size(type);
    const uint8_t *src = static_cast<const uint8_t *>(row);
    uint8_t *dst = static_cast<uint8_t *>(packed);
    if (type != WeightType::BF16) {
        // Runs of pack_cols() columns are contiguous in both layouts.
        const int64_t run = pack_cols(type);
        for (int64_t c = 0; c < cols; c += run)
            std::memcpy(dst + size_t(packed_index(r, c, cols, type)) * es, src + size_t(c) * es, size_t(run) * es);
        return;
    }
    for (int64_t c = 0; c < cols; ++c) std::memcpy(dst + size_t(packed_index(r, c, cols, type)) * es, src + size_t(c) * es, es);
}

bool host_has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

bool host_has_avx2_vnni() {
    __builtin_cpu_init();
    return host_has_avx2() && __builtin_cpu_supports("avxvnni");
}

bool host_has_avx512() {
    __builtin_cpu_init();
    return host_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

bool host_has_avx512_vnni() {
    __builtin_cpu_init();
    return host_has_avx512() && __builtin_cpu_supports("avx512vnni");
}

static const Kernels &select_kernels() {
    const char *forced = std::getenv("RWKV5_CPU_KERNEL");
    const bool allow_vnni = !forced || std::strcmp(forced, "avx512vnni") == 0;
    const bool allow512 = allow_vnni || std::strcmp(forced, "avx512") == 0;
    const bool allow2_vnni = allow512 || std::strcmp(forced, "avx2vnni") == 0;
    const bool allow2 = allow2_vnni || std::strcmp(forced, "avx2") == 0;
    if (allow_vnni && host_has_avx512_vnni()) return avx512_vnni_kernels();
    if (allow512 && host_has_avx512()) return avx512_kernels();
    if (allow2_vnni && host_has_avx2_vnni()) return avx2_vnni_kernels();
    if (allow2 && host_has_avx2()) return avx2_kernels();
    return scalar_kernels();
}

const Kernels &host_kernels() {
    static const Kernels &chosen = select_kernels();
    return chosen;
}

}  // namespace rwkv5::cpu
