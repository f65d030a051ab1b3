// Helpers of the forward-pass tests (on top of test_util.h): golden .f32
// files, a minimal scan of manifest.json (no JSON library), logits/state
// comparisons and thin wrappers over the C API.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <string>
#include <vector>

#include "rwkv5.h"
#include "test_util.h"

namespace fx {

// printf-style message for CHECK_MSG.
inline std::string fmt(const char *format, ...) {
    char buf[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    return buf;
}

// The shared fixtures (world model): env RWKV_SHARED_DIR, else the build's default.
inline std::string shared_dir() {
    const char *env = std::getenv("RWKV_SHARED_DIR");
    return env && *env ? env : RWKV5_SHARED_DIR;
}

inline bool file_exists(const std::string &path) { return std::ifstream(path).good(); }

inline std::string read_text(const std::string &path) {
    const std::vector<uint8_t> bytes = test::read_file(path);
    return std::string(bytes.begin(), bytes.end());
}

inline std::vector<float> read_f32(const std::string &path) {
    const std::vector<uint8_t> bytes = test::read_file(path);
    std::vector<float> out(bytes.size() / 4);
    std::memcpy(out.data(), bytes.data(), out.size() * 4);
    return out;
}

// Position just after `"key":` at or after `from`; npos when absent.
inline size_t find_key(const std::string &json, const std::string &key, size_t from = 0) {
    size_t p = json.find("\"" + key + "\"", from);
    if (p == std::string::npos) return p;
    p = json.find(':', p);
    return p == std::string::npos ? p : p + 1;
}

inline double number_at(const std::string &json, size_t pos) { return std::strtod(json.c_str() + pos, nullptr); }

inline std::vector<int32_t> int_array_at(const std::string &json, size_t pos) {
    std::vector<int32_t> out;
    size_t p = json.find('[', pos) + 1;
    const size_t end = json.find(']', p);
    while (p < end) {
        char *next = nullptr;
        long v = std::strtol(json.c_str() + p, &next, 10);
        if (next == json.c_str() + p) break;
        out.push_back(int32_t(v));
        p = size_t(next - json.c_str());
        while (p < end && (json[p] == ',' || std::isspace(static_cast<unsigned char>(json[p])))) ++p;
    }
    return out;
}

struct Tolerance {
    double logits, kl, att_ffn, wkv;
};

inline Tolerance tolerance(const std::string &json, const std::string &precision) {
    size_t base = find_key(json, precision, find_key(json, "recommended_tolerances"));
    return Tolerance{number_at(json, find_key(json, "logits_max_abs", base)),
                     number_at(json, find_key(json, "kl_max", base)),
                     number_at(json, find_key(json, "att_x_ffn_x_max_abs", base)),
                     number_at(json, find_key(json, "wkv_max_abs", base))};
}

inline double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

// KL(softmax(golden) || softmax(mine)) for one row, in float64.
inline double kl_row(const float *golden, const float *mine, size_t n) {
    double mg = golden[0], mm = mine[0];
    for (size_t i = 0; i < n; ++i) {
        mg = std::max(mg, double(golden[i]));
        mm = std::max(mm, double(mine[i]));
    }
    double zg = 0, zm = 0;
    for (size_t i = 0; i < n; ++i) {
        zg += std::exp(golden[i] - mg);
        zm += std::exp(mine[i] - mm);
    }
    const double lg = mg + std::log(zg), lm = mm + std::log(zm);
    double kl = 0;
    for (size_t i = 0; i < n; ++i) {
        const double pg = std::exp(golden[i] - lg);
        kl += pg * ((golden[i] - lg) - (mine[i] - lm));
    }
    return kl;
}

// Max |Δ| of the att_x/ffn_x parts and of the WKV parts of two states.
struct StateDiff {
    double att_ffn = 0, wkv = 0;
};

inline StateDiff state_diff(const std::vector<float> &a, const std::vector<float> &b, const rwkv5_model_info &info) {
    StateDiff d;
    const size_t C = size_t(info.n_embd), S = size_t(info.n_head) * info.head_size * info.head_size;
    for (size_t l = 0; l < size_t(info.n_layer); ++l) {
        const size_t base = l * (2 * C + S);
        d.att_ffn = std::max(d.att_ffn, max_abs_diff(&a[base], &b[base], C));
        d.wkv = std::max(d.wkv, max_abs_diff(&a[base + C], &b[base + C], S));
        d.att_ffn = std::max(d.att_ffn, max_abs_diff(&a[base + C + S], &b[base + C + S], C));
    }
    return d;
}

inline rwkv5_model *load(const std::string &path, rwkv5_weight_type type) {
    rwkv5_model_params p = rwkv5_model_default_params();
    p.weight_type = type;
    // These are the CPU backend's tests (bit-exact checks); a CUDA build on a GPU host
    // would otherwise pick CUDA under AUTO. The GPU tier has its own tests.
    p.backend = RWKV5_BACKEND_CPU;
    rwkv5_error err{};
    rwkv5_model *m = rwkv5_model_load(path.c_str(), &p, &err);
    if (!m) std::fprintf(stderr, "load %s failed: %d %s\n", path.c_str(), int(err.code), err.message);
    return m;
}

inline rwkv5_context *context(rwkv5_model *m, int32_t slots, int32_t max_tokens = 512, int32_t threads = 2) {
    rwkv5_context_params p = rwkv5_context_default_params();
    p.n_slots = slots;
    p.max_batch_tokens = max_tokens;
    p.n_threads = threads;
    rwkv5_error err{};
    rwkv5_context *c = rwkv5_context_init(m, &p, &err);
    if (!c) std::fprintf(stderr, "context failed: %d %s\n", int(err.code), err.message);
    return c;
}

// Feeds `tokens` to `slot` in one decode; returns the logits rows asked for.
inline std::vector<float> feed(rwkv5_context *ctx, int32_t n_vocab, int32_t slot, const int32_t *tokens, int32_t n,
                               rwkv5_logits_mode mode) {
    rwkv5_batch_item item{slot, tokens, n, mode};
    rwkv5_error err{};
    const rwkv5_status st = rwkv5_decode(ctx, &item, 1, &err);
    CHECK_MSG(st == RWKV5_OK, err.message);
    int32_t rows = 0;
    const float *l = rwkv5_get_logits(ctx, 0, &rows);
    if (!l) return {};
    return std::vector<float>(l, l + size_t(rows) * size_t(n_vocab));
}

inline std::vector<float> get_state(rwkv5_context *ctx, int32_t slot) {
    std::vector<float> s(rwkv5_state_size(ctx) / 4);
    rwkv5_error err{};
    CHECK_MSG(rwkv5_slot_get_state(ctx, slot, s.data(), s.size() * 4, &err) == RWKV5_OK, err.message);
    return s;
}

inline void set_state(rwkv5_context *ctx, int32_t slot, const std::vector<float> &s) {
    rwkv5_error err{};
    CHECK_MSG(rwkv5_slot_set_state(ctx, slot, s.data(), s.size() * 4, &err) == RWKV5_OK, err.message);
}

}  // namespace fx
