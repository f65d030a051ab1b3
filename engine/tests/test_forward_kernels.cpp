// The SIMD matrix kernels against the scalar reference, their batch
// invariance (a row's result does not depend on T or the row range), and the
// software fp16/bf16 conversions. Every weight type, int8 (with its per-block
// scales) included.
#include <random>

#include "ForwardFixture.h"
#include "cpu/half.h"
#include "cpu/kernels.h"
#include "cpu/quantize.h"

using rwkv5::cpu::Kernels;
using rwkv5::cpu::MatView;
using rwkv5::cpu::WeightType;

namespace {

struct Case {
    std::vector<uint8_t> bytes;
    std::vector<float> scales;  // I8 only
    MatView view;
};

constexpr WeightType kAllTypes[] = {WeightType::F32, WeightType::BF16, WeightType::F16, WeightType::I8};

Case make_matrix(WeightType type, int64_t rows, int64_t cols, std::mt19937 &rng) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    Case c;
    c.bytes.resize(size_t(rows * cols) * rwkv5::cpu::weight_type_size(type));
    for (int64_t i = 0; i < rows * cols; ++i) {
        const float v = dist(rng);
        switch (type) {
            case WeightType::F32: std::memcpy(&c.bytes[size_t(i) * 4], &v, 4); break;
            case WeightType::BF16: {
                const uint16_t h = rwkv5::f32_to_bf16(v);
                std::memcpy(&c.bytes[size_t(i) * 2], &h, 2);
                break;
            }
            case WeightType::F16: {
                const uint16_t h = rwkv5::f32_to_f16(v);
                std::memcpy(&c.bytes[size_t(i) * 2], &h, 2);
                break;
            }
            case WeightType::I8: c.bytes[size_t(i)] = uint8_t(int8_t(std::max(-127.0f, std::min(127.0f, std::round(40 * v))))); break;
        }
    }
    c.view = MatView{c.bytes.data(), type, rows, cols, cols};
    if (type == WeightType::I8) {
        std::uniform_real_distribution<float> scale(0.001f, 0.05f);
        c.scales.resize(size_t(rows * rwkv5::cpu::quant_blocks(cols)));
        for (float &s : c.scales) s = scale(rng);
        c.view.scales = c.scales.data();
    }
    return c;
}

void check_against_scalar(const Kernels &k, WeightType type, int64_t rows, int64_t cols, int64_t T, std::mt19937 &rng) {
    const Case m = make_matrix(type, rows, cols, rng);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(size_t(T * cols));
    for (float &v : x) v = dist(rng);
    std::vector<float> ref(size_t(T * rows)), got(size_t(T * rows)), one(static_cast<size_t>(rows));
    rwkv5::cpu::scalar_kernels().matmul(m.view, x.data(), cols, T, ref.data(), rows, 0, rows);
    k.matmul(m.view, x.data(), cols, T, got.data(), rows, 0, rows);
    // fp32 reassociation error bound: a few ulps of sum |w x|.
    const double tol = 1e-5 * std::sqrt(double(cols)) * 4;
    // The VNNI tables round each token's activations to int16 (q = round(x *
    // 32767 / max|x|), step max|x| / 32767): they must equal the product with
    // those activations, within the fp32 bound.
    if (type == WeightType::I8 && std::strstr(k.name, "vnni") != nullptr) {
        const int64_t blocks = rwkv5::cpu::quant_blocks(cols);
        for (int64_t t = 0; t < T; ++t) {
            float amax = 0;
            for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(x[size_t(t * cols + c)]));
            const float inv = amax > 0 ? 32767.0f / amax : 0.0f;
            for (int64_t r = 0; r < rows; ++r) {
                double sum = 0;
                for (int64_t c = 0; c < cols; ++c)
                    sum += double(int8_t(m.bytes[size_t(r * cols + c)])) *
                           m.scales[size_t(r * blocks + c / rwkv5::cpu::kQuantBlock)] *
                           std::nearbyint(x[size_t(t * cols + c)] * inv) * (amax / 32767.0f);
                ref[size_t(t * rows + r)] = float(sum);
            }
        }
    }
    const double worst = fx::max_abs_diff(ref.data(), got.data(), ref.size()) / tol;
    CHECK_MSG(worst <= 1.0, fx::fmt("%s type %d %lldx%lld T=%lld: max diff %g of the bound", k.name, int(type),
                                    (long long)rows, (long long)cols, (long long)T, worst));
    // Batch invariance: each token alone, and odd row ranges, give the same bits.
    bool same = true;
    for (int64_t t = 0; t < T; ++t) {
        const int64_t split = rows / 3 + 1;
        k.matmul(m.view, x.data() + t * cols, cols, 1, one.data(), rows, 0, split);
        k.matmul(m.view, x.data() + t * cols, cols, 1, one.data(), rows, split, rows);
        same = same && std::memcmp(one.data(), got.data() + t * rows, size_t(rows) * 4) == 0;
    }
    CHECK_MSG(same, fx::fmt("%s type %d T=%lld: a token alone differs from the batch", k.name, int(type), (long long)T));
}

// A table that takes packed matrices gives the same bits from the packed and
// the row-major copy of a matrix, for any T and row range.
void check_packed(const Kernels &k, WeightType type, int64_t T, std::mt19937 &rng) {
    const int64_t rows = 40, cols = 192, es = int64_t(rwkv5::cpu::weight_type_size(type));
    const Case m = make_matrix(type, rows, cols, rng);
    std::vector<uint8_t> packed(m.bytes.size());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
            std::memcpy(&packed[size_t(rwkv5::cpu::packed_index(r, c, cols, type) * es)], &m.bytes[size_t((r * cols + c) * es)],
                        size_t(es));
    const MatView pv{packed.data(), type, rows, cols, cols, true, m.view.scales};
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(size_t(T * cols));
    for (float &v : x) v = dist(rng);
    std::vector<float> plain(size_t(T * rows)), got(size_t(T * rows));
    k.matmul(m.view, x.data(), cols, T, plain.data(), rows, 0, rows);
    for (int64_t split : {int64_t(0), int64_t(3), int64_t(13), int64_t(24)}) {
        std::fill(got.begin(), got.end(), -1.0f);
        k.matmul(pv, x.data(), cols, T, got.data(), rows, 0, split);
        k.matmul(pv, x.data(), cols, T, got.data(), rows, split, rows);
        CHECK_MSG(std::memcmp(plain.data(), got.data(), plain.size() * 4) == 0,
                  fx::fmt("%s type %d T=%lld split %lld: packed differs from row-major", k.name, int(type),
                          (long long)T, (long long)split));
    }
}

// Every table's WKV gives the reference's bits (no fused multiply-add).
void check_wkv(const Kernels &k, int64_t n, std::mt19937 &rng) {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f), decay(0.0f, 1.0f);
    const size_t un = static_cast<size_t>(n);
    std::vector<float> r(un), kk(un), v(un), u(un), w(un), S(un * un);
    for (auto *vec : {&r, &kk, &v, &u, &S})
        for (float &e : *vec) e = dist(rng);
    for (float &e : w) e = decay(rng);
    std::vector<float> S2 = S, o(un), o2(un);
    for (int step = 0; step < 3; ++step) {
        rwkv5::cpu::wkv_reference(r.data(), kk.data(), v.data(), u.data(), w.data(), S.data(), o.data(), n);
        k.wkv(r.data(), kk.data(), v.data(), u.data(), w.data(), S2.data(), o2.data(), n);
    }
    CHECK_MSG(o == o2 && S == S2, fx::fmt("%s wkv n=%lld differs from the reference", k.name, (long long)n));
}

// The int8 quantizer: per block, scale = max|w| / 127, the largest weight at
// +-127, every weight within half a step; a zero block stays zero; the short
// last block has its own scale.
void check_quantize(std::mt19937 &rng) {
    const int64_t cols = 2 * rwkv5::cpu::kQuantBlock + 36;
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> w(static_cast<size_t>(cols));
    for (float &v : w) v = dist(rng);
    for (int64_t c = rwkv5::cpu::kQuantBlock; c < 2 * rwkv5::cpu::kQuantBlock; ++c) w[size_t(c)] = 0.0f;
    w[size_t(cols - 1)] = 50.0f;  // an outlier sets only its own block's scale
    std::vector<int8_t> q(static_cast<size_t>(cols));
    std::vector<float> scales(size_t(rwkv5::cpu::quant_blocks(cols)));
    CHECK(scales.size() == 3);
    rwkv5::cpu::quantize_row(w.data(), cols, q.data(), scales.data());
    for (size_t b = 0; b < scales.size(); ++b) {
        const size_t c0 = b * size_t(rwkv5::cpu::kQuantBlock), c1 = std::min(size_t(cols), c0 + size_t(rwkv5::cpu::kQuantBlock));
        float amax = 0.0f;
        int qmax = 0;
        bool within = true;
        for (size_t c = c0; c < c1; ++c) {
            amax = std::max(amax, std::fabs(w[c]));
            qmax = std::max(qmax, std::abs(int(q[c])));
            within = within && std::fabs(float(q[c]) * scales[b] - w[c]) <= 0.5f * scales[b] * (1 + 1e-5f);
        }
        CHECK_MSG(scales[b] == amax / 127.0f, fx::fmt("block %zu: scale %g, max|w| %g", b, scales[b], amax));
        CHECK_MSG(qmax == (amax > 0 ? 127 : 0), fx::fmt("block %zu: largest |q| %d", b, qmax));
        CHECK_MSG(within, fx::fmt("block %zu: a weight is off by more than half a step", b));
    }
}

void check_conversions() {
    int bad_f16 = 0, bad_bf16 = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = rwkv5::f16_to_f32(uint16_t(h));
        if (!std::isnan(f) && rwkv5::f32_to_f16(f) != h) ++bad_f16;
        const float b = rwkv5::bf16_to_f32(uint16_t(h));
        if (!std::isnan(b) && rwkv5::f32_to_bf16(b) != h) ++bad_bf16;
    }
    CHECK_MSG(bad_f16 == 0, fx::fmt("%d fp16 values do not round-trip", bad_f16));
    CHECK_MSG(bad_bf16 == 0, fx::fmt("%d bf16 values do not round-trip", bad_bf16));
    CHECK(rwkv5::f16_to_f32(0x3c00) == 1.0f);
    CHECK(rwkv5::f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
    CHECK(rwkv5::f32_to_f16(65520.0f) == 0x7c00);  // overflow rounds to inf
    CHECK(rwkv5::f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie to even
    CHECK(rwkv5::f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);  // tie to even
    CHECK(rwkv5::f32_to_bf16(1.0f + std::ldexp(3.0f, -8)) == 0x3f82);
}

}  // namespace

int main() {
    check_conversions();
    std::mt19937 rng(42);
    check_quantize(rng);
    std::vector<const Kernels *> tables;
    if (rwkv5::cpu::host_has_avx2()) tables.push_back(&rwkv5::cpu::avx2_kernels());
    if (rwkv5::cpu::host_has_avx2_vnni()) tables.push_back(&rwkv5::cpu::avx2_vnni_kernels());
    if (rwkv5::cpu::host_has_avx512()) tables.push_back(&rwkv5::cpu::avx512_kernels());
    if (rwkv5::cpu::host_has_avx512_vnni()) tables.push_back(&rwkv5::cpu::avx512_vnni_kernels());
    std::printf("host kernel: %s (%s)\n", rwkv5_cpu_kernel(), rwkv5_system_info());
    for (const Kernels *k : tables)
        for (WeightType type : kAllTypes)
            for (int64_t cols : {64, 100, 1024})
                for (int64_t T : {1, 2, 3, 5, 16, 70}) check_against_scalar(*k, type, 37, cols, T, rng);
    for (const Kernels *k : tables) {
        for (int64_t n : {8, 40, 64, 80}) check_wkv(*k, n, rng);
        if (!k->takes_packed) continue;
        for (WeightType type : kAllTypes)
            for (int64_t T : {1, 2, 5, 16, 20}) check_packed(*k, type, T, rng);
    }
    if (tables.empty()) std::printf("no SIMD kernel on this host: only the scalar path was exercised\n");
    const double bw = rwkv5_measure_read_bandwidth(size_t(64) << 20, 0, 3);
    CHECK_MSG(bw > 0, "read bandwidth measurement failed");
    std::printf("read bandwidth (64 MiB, all threads): %.1f GB/s\n", bw / 1e9);
    return test::finish("test_forward_kernels");
}
