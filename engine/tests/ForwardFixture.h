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

#include "ModelShape.h"
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

// The CPU backend unless told otherwise: most callers are the CPU backend's
// tests (bit-exact checks), which a CUDA build on a GPU host would otherwise
// run on CUDA under AUTO.
// One golden set (docs/rwkv5.md §11): a model file and its golden dir's manifest.
struct Golden {
    std::string name, dir, model_path, json;
    bool rows_only = false;  // the 65536-vocab model stores selected rows only
};

inline Golden golden(const std::string &name, const std::string &dir, const std::string &model_path, bool rows_only) {
    return Golden{name, dir, model_path, read_text(dir + "/manifest.json"), rows_only};
}

// The model with the real 65536-row World vocabulary (rows-only goldens).
inline Golden world_golden() {
    const std::string fix = RWKV5_FIXTURES_DIR;
    return golden("world-L2-C64-V65536", fix + "/golden/world-L2-C64-V65536", fix + "/models/world-L2-C64-V65536.bf16.pth",
                  true);
}

// Logits rows of the golden file `key` ("rnn", "seq", "resume_rnn") and, in
// `rows`, the engine row each corresponds to (all n rows unless the golden
// file holds selected rows only).
inline std::vector<float> golden_logits(const Golden &g, const std::string &key, const std::string &file, size_t n,
                                        std::vector<int32_t> &rows) {
    if (g.rows_only) {
        rows = int_array_at(g.json, find_key(g.json, "rows", find_key(g.json, key, find_key(g.json, "logits"))));
        return read_f32(g.dir + "/" + file.substr(0, file.size() - 4) + "_rows.f32");
    }
    rows.resize(n);
    for (size_t i = 0; i < n; ++i) rows[i] = int32_t(i);
    return read_f32(g.dir + "/" + file);
}

inline const char *precision_name(rwkv5_weight_type type) {
    switch (type) {
        case RWKV5_WEIGHTS_FP32: return "fp32";
        case RWKV5_WEIGHTS_16BIT: return "16bit";
        case RWKV5_WEIGHTS_INT8: return "int8";
    }
    return "?";
}

// The dimensions of a loaded model as the engine's ModelShape (what the memory plan reads).
inline rwkv5::ModelShape shape_of(const rwkv5_model_info &i) {
    rwkv5::ModelShape s{};
    s.n_vocab = i.n_vocab;
    s.n_embd = i.n_embd;
    s.n_layer = i.n_layer;
    s.n_head = i.n_head;
    s.head_size = i.head_size;
    s.dim_att = i.dim_att;
    s.dim_ffn = i.dim_ffn;
    return s;
}

inline rwkv5_model *load(const std::string &path, rwkv5_weight_type type,
                         rwkv5_backend backend = RWKV5_BACKEND_CPU) {
    rwkv5_model_params p = rwkv5_model_default_params();
    p.weight_type = type;
    p.backend = backend;
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

// RNN mode: one decode per token; the last-token logits rows, concatenated.
inline std::vector<float> feed_each(rwkv5_context *ctx, int32_t n_vocab, int32_t slot,
                                    const std::vector<int32_t> &tokens) {
    std::vector<float> out;
    for (const int32_t &t : tokens) {
        const std::vector<float> l = feed(ctx, n_vocab, slot, &t, 1, RWKV5_LOGITS_LAST);
        out.insert(out.end(), l.begin(), l.end());
    }
    return out;
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

// One stream's run: every logits row it asked for, in order, and its final state.
struct StreamRun {
    std::vector<float> logits, state;
};

// The batching tests' workload: four streams of mixed prefill chunks and
// single tokens (tokens wrap at the model's vocabulary), run each alone in
// its own context and all together, one chunk per stream per decode, in
// slots deliberately not in stream order.
struct BatchAndSeparate {
    std::vector<StreamRun> alone, batched;  // per stream
};

inline BatchAndSeparate run_batch_and_separate(rwkv5_model *model) {
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    const int32_t V = info.n_vocab;
    struct Stream {
        std::vector<int32_t> tokens, chunks;  // chunk lengths sum to tokens.size()
    };
    std::vector<Stream> streams = {
        {{5, 17, 300, 2, 9, 44, 81, 600, 7, 3, 1000, 12}, {7, 1, 1, 1, 1, 1}},
        {{901, 33, 64, 128, 256, 512}, {1, 1, 1, 1, 1, 1}},
        {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, {3, 5, 1, 9}},
        {{1023, 0, 77}, {2, 1}},
    };
    for (Stream &s : streams)
        for (int32_t &t : s.tokens) t %= V;
    const size_t n = streams.size();
    BatchAndSeparate out{std::vector<StreamRun>(n), std::vector<StreamRun>(n)};
    for (size_t s = 0; s < n; ++s) {
        rwkv5_context *ctx = context(model, 1);
        size_t pos = 0;
        for (int32_t len : streams[s].chunks) {
            const std::vector<float> l = feed(ctx, V, 0, &streams[s].tokens[pos], len, RWKV5_LOGITS_ALL);
            out.alone[s].logits.insert(out.alone[s].logits.end(), l.begin(), l.end());
            pos += size_t(len);
        }
        out.alone[s].state = get_state(ctx, 0);
        rwkv5_context_free(ctx);
    }
    const int32_t slot_of[] = {2, 0, 3, 1};
    rwkv5_context *ctx = context(model, 4);
    std::vector<size_t> pos(n, 0), step(n, 0);
    for (;;) {
        std::vector<rwkv5_batch_item> items;
        std::vector<size_t> which;
        for (size_t s = 0; s < n; ++s) {
            if (step[s] == streams[s].chunks.size()) continue;
            items.push_back({slot_of[s], &streams[s].tokens[pos[s]], streams[s].chunks[step[s]], RWKV5_LOGITS_ALL});
            which.push_back(s);
        }
        if (items.empty()) break;
        rwkv5_error err{};
        CHECK_MSG(rwkv5_decode(ctx, items.data(), int32_t(items.size()), &err) == RWKV5_OK, err.message);
        for (size_t i = 0; i < items.size(); ++i) {
            int32_t rows = 0;
            const float *l = rwkv5_get_logits(ctx, int32_t(i), &rows);
            CHECK(rows == items[i].n_tokens);
            std::vector<float> &dst = out.batched[which[i]].logits;
            if (l) dst.insert(dst.end(), l, l + size_t(rows) * size_t(V));
            pos[which[i]] += size_t(items[i].n_tokens);
            ++step[which[i]];
        }
    }
    for (size_t s = 0; s < n; ++s) out.batched[s].state = get_state(ctx, slot_of[s]);
    rwkv5_context_free(ctx);
    return out;
}

}  // namespace fx
