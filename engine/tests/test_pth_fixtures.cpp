// The loader on the golden fixtures: the bf16, fp16 (one shared storage) and
// fp32 copies of the tiny model hold the same tensors with the same values,
// dims match the manifests, and the model id is stable and content-based.
#include <cmath>
#include <cstring>
#include <set>
#include <string>

#include "ModelShape.h"
#include "pth/PthArchive.h"
#include "test_util.h"

namespace {

using rwkv5::PthArchive;
using rwkv5::StorageType;
using rwkv5::TensorRef;

float half_to_float(uint16_t h) {
    const int exponent = (h >> 10) & 31, mantissa = h & 1023;
    float value;
    if (exponent == 0) {
        value = std::ldexp(float(mantissa), -24);
    } else if (exponent == 31) {
        value = mantissa ? NAN : INFINITY;
    } else {
        value = std::ldexp(float(mantissa | 1024), exponent - 25);
    }
    return (h & 0x8000) ? -value : value;
}

float element(const TensorRef &t, uint64_t i) {
    if (t.dtype == StorageType::F32) {
        float f;
        std::memcpy(&f, t.data + 4 * i, 4);
        return f;
    }
    uint16_t h;
    std::memcpy(&h, t.data + 2 * i, 2);
    if (t.dtype == StorageType::F16) return half_to_float(h);
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// `"key": <int>` inside the manifest's "config" object.
int64_t manifest_config(const std::string &manifest, const std::string &key) {
    const size_t config = manifest.find("\"config\"");
    const size_t at = manifest.find("\"" + key + "\"", config);
    if (config == std::string::npos || at == std::string::npos) return -1;
    return std::atoll(manifest.c_str() + manifest.find(':', at) + 1);
}

void check_dims(const std::string &model, const std::string &golden, rwkv5_file_dtype dtype) {
    const auto archive = PthArchive::open(test::fixture("models/" + model));
    const rwkv5::ModelShape shape = rwkv5::inspect_model(*archive);
    const std::vector<uint8_t> bytes = test::read_file(test::fixture("golden/" + golden + "/manifest.json"));
    const std::string manifest(bytes.begin(), bytes.end());
    CHECK_MSG(shape.n_vocab == manifest_config(manifest, "vocab_size"), model);
    CHECK_MSG(shape.n_embd == manifest_config(manifest, "n_embd"), model);
    CHECK_MSG(shape.n_layer == manifest_config(manifest, "n_layer"), model);
    CHECK_MSG(shape.n_head == manifest_config(manifest, "n_head"), model);
    CHECK_MSG(shape.head_size == manifest_config(manifest, "head_size"), model);
    CHECK_MSG(shape.dim_att == manifest_config(manifest, "dim_att"), model);
    CHECK_MSG(shape.dim_ffn == manifest_config(manifest, "dim_ffn"), model);
    CHECK_MSG(shape.file_dtype == dtype, model);
    CHECK_MSG(!shape.time_first, model);
    const int64_t V = shape.n_vocab, C = shape.n_embd, A = shape.dim_att, F = shape.dim_ffn;
    const int64_t per_layer = 4 * C + 6 * C + 2 * shape.n_head * shape.head_size + 4 * A * C + C * A + 2 * A +
                              F * C + C * C + C * F;
    CHECK_MSG(shape.n_params == 2 * V * C + 2 * C + shape.n_layer * per_layer + 2 * C, model);
    // Every tensor of the fixtures is recognised.
    uint64_t all = 0;
    for (const TensorRef &t : archive->tensors()) all += t.numel;
    CHECK_MSG(uint64_t(shape.n_params) == all, model);
}

}  // namespace

int main() {
    const auto bf16 = PthArchive::open(test::fixture("models/tiny-L3-C128-V1024.bf16.pth"));
    const auto fp16 = PthArchive::open(test::fixture("models/tiny-L3-C128-V1024.fp16.pth"));
    const auto fp32 = PthArchive::open(test::fixture("models/tiny-L3-C128-V1024.fp32.pth"));

    // 1 emb + 2 ln0 + 3 layers x 22 + 2 ln_out + 1 head.
    CHECK(bf16->tensors().size() == 72);
    CHECK(fp16->tensors().size() == bf16->tensors().size());
    CHECK(fp32->tensors().size() == bf16->tensors().size());
    CHECK(bf16->tensors().front().name == "emb.weight");
    CHECK(bf16->tensors().back().name == "head.weight");
    CHECK(bf16->find("blocks.2.ffn.value.weight") != nullptr);
    CHECK(bf16->find("blocks.3.ffn.value.weight") == nullptr);

    uint64_t compared = 0;
    for (const TensorRef &a : bf16->tensors()) {
        const TensorRef *b = fp16->find(a.name);
        const TensorRef *c = fp32->find(a.name);
        CHECK_MSG(b && c, a.name);
        if (!b || !c) continue;
        CHECK_MSG(a.dtype == StorageType::BF16 && b->dtype == StorageType::F16 && c->dtype == StorageType::F32,
                  a.name);
        CHECK_MSG(a.shape == b->shape && a.shape == c->shape && a.numel == c->numel && b->numel == c->numel, a.name);
        if (a.numel != b->numel || a.numel != c->numel) continue;
        uint64_t mismatches = 0;
        for (uint64_t i = 0; i < a.numel; i++) {
            const float x = element(a, i), y = element(*b, i), z = element(*c, i);
            mismatches += !(x == y && y == z);
        }
        CHECK_MSG(mismatches == 0, a.name + ": " + std::to_string(mismatches) + " values differ");
        compared += a.numel;
    }
    CHECK(compared > 900000);

    // The fp16 file is one storage: the tensors are disjoint, ordered views into one entry.
    const uint8_t *previous_end = nullptr;
    for (const TensorRef &t : fp16->tensors()) {
        CHECK_MSG(previous_end == nullptr || t.data >= previous_end, t.name);
        previous_end = t.data + t.nbytes();
    }
    CHECK(fp16->tensors().back().data - fp16->tensors().front().data > 512 * 1024);

    check_dims("tiny-L3-C128-V1024.bf16.pth", "tiny-L3-C128-V1024", RWKV5_DTYPE_BF16);
    check_dims("tiny-L3-C128-V1024.fp16.pth", "tiny-L3-C128-V1024", RWKV5_DTYPE_F16);
    check_dims("tiny-L3-C128-V1024.fp32.pth", "tiny-L3-C128-V1024", RWKV5_DTYPE_F32);
    check_dims("deep-L7-C64-V512.bf16.pth", "deep-L7-C64-V512", RWKV5_DTYPE_BF16);

    // The id depends on the weights, not on the file: stable across opens,
    // different for other weights or another storage dtype.
    const std::string id = rwkv5::compute_model_id(*bf16);
    CHECK(id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(id == rwkv5::compute_model_id(*PthArchive::open(test::fixture("models/tiny-L3-C128-V1024.bf16.pth"))));
    const std::set<std::string> ids = {
        id, rwkv5::compute_model_id(*fp16), rwkv5::compute_model_id(*fp32),
        rwkv5::compute_model_id(*PthArchive::open(test::fixture("models/deep-L7-C64-V512.bf16.pth")))};
    CHECK(ids.size() == 4);

    return test::finish("test_pth_fixtures");
}
