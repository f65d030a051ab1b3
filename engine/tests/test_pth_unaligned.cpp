// A checkpoint whose entries' data lie at odd file offsets (a ZIP writer
// other than torch's does not pad them) loads and computes exactly like the
// aligned original. Under UBSan (halt_on_error) this also proves the loader
// never makes a misaligned typed load.
#include <cstring>
#include <string>
#include <vector>

#include "rwkv5.h"
#include "test_util.h"

namespace {

using namespace test::zip;

// The same (non-Zip64) archive with one more byte of local extra field in
// front of every entry's data, so each entry's data moves to an odd offset.
Bytes with_odd_offsets(const Bytes &in) {
    const size_t eocd = in.size() - 22;
    const size_t cd_offset = le32(&in[eocd + 16]), entries = le16(&in[eocd + 10]);
    Bytes out, cd;
    size_t pos = cd_offset;
    for (size_t i = 0; i < entries; i++) {
        const uint8_t *h = &in[pos];
        const uint16_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
        const size_t local = le32(h + 42), size = le32(h + 20);
        const uint8_t *l = &in[local];
        const size_t header = 30 + size_t(le16(l + 26)) + le16(l + 28);
        Bytes central(h, h + 46 + name_len + extra_len + comment_len);
        put32(&central[42], uint32_t(out.size()));
        cd.insert(cd.end(), central.begin(), central.end());
        const size_t at = out.size();
        out.insert(out.end(), l, l + header);
        out.push_back(0);
        put16(&out[at + 28], uint16_t(le16(l + 28) + 1));
        out.insert(out.end(), l + header, l + header + size);
        pos += central.size();
    }
    Bytes end(in.begin() + long(eocd), in.end());
    put32(&end[16], uint32_t(out.size()));
    put32(&end[12], uint32_t(cd.size()));
    out.insert(out.end(), cd.begin(), cd.end());
    out.insert(out.end(), end.begin(), end.end());
    return out;
}

std::vector<float> logits_of(const std::string &path, rwkv5_weight_type weights) {
    rwkv5_model_params mp = rwkv5_model_default_params();
    mp.weight_type = weights;
    mp.backend = RWKV5_BACKEND_CPU;
    mp.n_threads = 2;
    rwkv5_error err{};
    rwkv5_model *model = rwkv5_model_load(path.c_str(), &mp, &err);
    CHECK_MSG(model != nullptr, err.message);
    if (!model) return {};
    rwkv5_context *ctx = rwkv5_context_init(model, nullptr, &err);
    const int32_t tokens[] = {1, 7, 42, 3};
    const rwkv5_batch_item item{0, tokens, 4, RWKV5_LOGITS_ALL};
    CHECK(rwkv5_decode(ctx, &item, 1, &err) == RWKV5_OK);
    int32_t rows = 0;
    const float *logits = rwkv5_get_logits(ctx, 0, &rows);
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    std::vector<float> out(logits, logits + size_t(rows) * size_t(info.n_vocab));
    rwkv5_context_free(ctx);
    rwkv5_model_free(model);
    return out;
}

}  // namespace

int main() {
    test::TempDir dir;
    for (const char *name : {"tiny-L3-C128-V1024.fp32.pth", "tiny-L3-C128-V1024.fp16.pth",
                             "tiny-L3-C128-V1024.bf16.pth"}) {
        const std::string aligned = test::fixture(std::string("models/") + name);
        const std::string odd = dir.write(std::string("odd-") + name, with_odd_offsets(test::read_file(aligned)));
        for (rwkv5_weight_type weights : {RWKV5_WEIGHTS_FP32, RWKV5_WEIGHTS_16BIT}) {
            const std::vector<float> a = logits_of(aligned, weights), b = logits_of(odd, weights);
            CHECK_MSG(!a.empty() && a.size() == b.size() &&
                          std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0,
                      name);
        }
    }
    return test::finish("test_pth_unaligned");
}
