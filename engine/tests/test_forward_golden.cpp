// The fp32 forward pass against the upstream goldens (docs/rwkv5.md §11): RNN
// mode, sequence mode, chunked prefill, resume from a saved state, greedy
// generation with penalties, the three file dtypes, and the fast (16-bit)
// path's measured deviation.
#include "ForwardFixture.h"

namespace {

struct Compare {
    double max_abs = 0, kl = 0;
};

// Compares `mine` (n rows) with the golden rows; `rows` maps golden row i to
// the engine row when the golden file has selected rows only.
Compare compare_rows(const std::vector<float> &golden, const std::vector<float> &mine, size_t V,
                     const std::vector<int32_t> &rows) {
    Compare c;
    for (size_t i = 0; i < rows.size(); ++i) {
        const float *g = golden.data() + i * V, *m = mine.data() + size_t(rows[i]) * V;
        c.max_abs = std::max(c.max_abs, fx::max_abs_diff(g, m, V));
        c.kl = std::max(c.kl, fx::kl_row(g, m, V));
    }
    return c;
}

void check_logits(const char *what, const fx::Golden &g, const Compare &c, const fx::Tolerance &tol) {
    std::printf("  %-28s max|dlogits| %.3g  max KL %.3g\n", what, c.max_abs, c.kl);
    CHECK_MSG(c.max_abs <= tol.logits, fx::fmt("%s %s: max |dlogits| %g > %g", g.name.c_str(), what, c.max_abs, tol.logits));
    CHECK_MSG(c.kl <= tol.kl, fx::fmt("%s %s: KL %g > %g", g.name.c_str(), what, c.kl, tol.kl));
}

void check_state(const char *what, const fx::Golden &g, const std::vector<float> &golden, const std::vector<float> &mine,
                 const rwkv5_model_info &info, const fx::Tolerance &tol) {
    CHECK_MSG(golden.size() == mine.size(), fx::fmt("%s %s: state size", g.name.c_str(), what));
    if (golden.size() != mine.size()) return;
    const fx::StateDiff d = fx::state_diff(golden, mine, info);
    std::printf("  %-28s max|datt_x,ffn_x| %.3g  max|dS| %.3g\n", what, d.att_ffn, d.wkv);
    CHECK_MSG(d.att_ffn <= tol.att_ffn, fx::fmt("%s %s: att_x/ffn_x %g > %g", g.name.c_str(), what, d.att_ffn, tol.att_ffn));
    CHECK_MSG(d.wkv <= tol.wkv, fx::fmt("%s %s: wkv %g > %g", g.name.c_str(), what, d.wkv, tol.wkv));
}

// docs/rwkv5.md §9 penalties, greedy (the manifest's greedy_generation rule).
std::vector<int32_t> greedy(rwkv5_context *ctx, int32_t V, std::vector<float> logits, const std::string &json) {
    const size_t base = fx::find_key(json, "greedy_generation");
    const double presence = fx::number_at(json, fx::find_key(json, "presence", base));
    const double frequency = fx::number_at(json, fx::find_key(json, "frequency", base));
    const double decay = fx::number_at(json, fx::find_key(json, "decay", base));
    const size_t n = fx::int_array_at(json, fx::find_key(json, "tokens", base)).size();
    std::vector<double> occurrence(size_t(V), 0.0);
    std::vector<char> seen(size_t(V), 0);
    std::vector<int32_t> out;
    for (size_t step = 0; step < n; ++step) {
        for (int32_t t = 0; t < V; ++t)
            if (seen[size_t(t)]) logits[size_t(t)] -= float(presence + occurrence[size_t(t)] * frequency);
        logits[0] -= 1e10f;
        const int32_t tok = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        for (double &o : occurrence) o *= decay;
        occurrence[size_t(tok)] += 1;
        seen[size_t(tok)] = 1;
        out.push_back(tok);
        logits = fx::feed(ctx, V, 0, &tok, 1, RWKV5_LOGITS_LAST);
    }
    return out;
}

void run_fp32(const fx::Golden &g) {
    std::printf("%s (fp32 path)\n", g.name.c_str());
    rwkv5_model *model = fx::load(g.model_path, RWKV5_WEIGHTS_FP32);
    CHECK_MSG(model != nullptr, g.model_path);
    if (!model) return;
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    const int32_t V = info.n_vocab;
    rwkv5_context *ctx = fx::context(model, 1);
    const fx::Tolerance tol = fx::tolerance(g.json, "fp32");
    const std::vector<int32_t> tokens = fx::int_array_at(g.json, fx::find_key(g.json, "tokens"));
    const std::vector<int32_t> resume = fx::int_array_at(g.json, fx::find_key(g.json, "resume_tokens"));
    const int32_t n = int32_t(tokens.size());
    const std::vector<float> state_final = fx::read_f32(g.dir + "/state_final.f32");
    std::vector<int32_t> rows;

    // RNN mode: one decode per token.
    const std::vector<float> rnn = fx::feed_each(ctx, V, 0, tokens);
    std::vector<float> gold = fx::golden_logits(g, "rnn", "logits_rnn.f32", size_t(n), rows);
    check_logits("rnn logits", g, compare_rows(gold, rnn, size_t(V), rows), tol);
    check_state("rnn state_final", g, state_final, fx::get_state(ctx, 0), info, tol);

    // Sequence mode: one decode of every token, all rows.
    rwkv5_slot_reset(ctx, 0, nullptr);
    const std::vector<float> seq = fx::feed(ctx, V, 0, tokens.data(), n, RWKV5_LOGITS_ALL);
    gold = fx::golden_logits(g, "seq", "logits_seq.f32", size_t(n), rows);
    check_logits("seq logits", g, compare_rows(gold, seq, size_t(V), rows), tol);
    const std::vector<float> seq_state = fx::get_state(ctx, 0);
    check_state("seq state_final", g, state_final, seq_state, info, tol);
    // Greedy generation continues from the sequence state.
    const std::vector<float> last(seq.end() - V, seq.end());
    const std::vector<int32_t> want = fx::int_array_at(g.json, fx::find_key(g.json, "tokens", fx::find_key(g.json, "greedy_generation")));
    CHECK_MSG(greedy(ctx, V, last, g.json) == want, g.name + ": greedy generation differs from the golden tokens");

    // Chunked prefill: chunks of 7 and of other sizes give the same last row and state.
    for (int32_t chunk : {7, 1, 3, 16}) {
        rwkv5_slot_reset(ctx, 0, nullptr);
        std::vector<float> l;
        for (int32_t s = 0; s < n; s += chunk) {
            const int32_t len = std::min(chunk, n - s);
            l = fx::feed(ctx, V, 0, tokens.data() + s, len, s + len == n ? RWKV5_LOGITS_LAST : RWKV5_LOGITS_NONE);
        }
        const std::vector<float> seq_last(seq.end() - V, seq.end());
        const double d = l.size() == size_t(V) ? fx::max_abs_diff(l.data(), seq_last.data(), size_t(V)) : 1e9;
        CHECK_MSG(d == 0, fx::fmt("%s chunks of %d: last logits differ from sequence mode by %g", g.name.c_str(), chunk, d));
        CHECK_MSG(fx::get_state(ctx, 0) == seq_state, fx::fmt("%s chunks of %d: state differs", g.name.c_str(), chunk));
    }

    // Resume from the split state, one token per decode.
    fx::set_state(ctx, 0, fx::read_f32(g.dir + "/state_split.f32"));
    const std::vector<float> res = fx::feed_each(ctx, V, 0, resume);
    gold = fx::golden_logits(g, "resume_rnn", "logits_resume.f32", resume.size(), rows);
    check_logits("resume logits", g, compare_rows(gold, res, size_t(V), rows), tol);
    check_state("resume state", g, fx::read_f32(g.dir + "/state_resume_final.f32"), fx::get_state(ctx, 0), info, tol);

    rwkv5_context_free(ctx);
    rwkv5_model_free(model);
}

// Sequence-mode logits of a model file on a given path (for cross-file checks).
std::vector<float> seq_logits(const std::string &path, rwkv5_weight_type type, const std::vector<int32_t> &tokens,
                              int32_t &V) {
    rwkv5_model *model = fx::load(path, type);
    if (!model) return {};
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    V = info.n_vocab;
    rwkv5_context *ctx = fx::context(model, 1);
    std::vector<float> l = fx::feed(ctx, V, 0, tokens.data(), int32_t(tokens.size()), RWKV5_LOGITS_ALL);
    rwkv5_context_free(ctx);
    rwkv5_model_free(model);
    return l;
}

// The 16-bit path: weights are the file's bf16 values, activations fp32, so
// the deviation comes from rounding the ln0-folded embedding once to bf16.
void run_fast(const fx::Golden &g) {
    const std::vector<int32_t> tokens = fx::int_array_at(g.json, fx::find_key(g.json, "tokens"));
    int32_t V = 0;
    const std::vector<float> mine = seq_logits(g.model_path, RWKV5_WEIGHTS_16BIT, tokens, V);
    CHECK_MSG(!mine.empty(), g.model_path);
    if (mine.empty()) return;
    std::vector<int32_t> rows;
    const std::vector<float> gold = fx::golden_logits(g, "seq", "logits_seq.f32", tokens.size(), rows);
    const Compare c = compare_rows(gold, mine, size_t(V), rows);
    const fx::Tolerance tol = fx::tolerance(g.json, "fp16");
    std::printf("%s (16-bit path): max|dlogits| %.4g  max KL %.3g (fp16-row tolerance %.3g / %.3g)\n", g.name.c_str(),
                c.max_abs, c.kl, tol.logits, tol.kl);
    CHECK_MSG(c.max_abs <= tol.logits && c.kl <= tol.kl, g.name + ": 16-bit path outside the fp16 tolerances");
}

}  // namespace

int main() {
    const std::string fix = RWKV5_FIXTURES_DIR;
    std::vector<fx::Golden> models = {
        fx::golden("tiny-L3-C128-V1024", fix + "/golden/tiny-L3-C128-V1024", fix + "/models/tiny-L3-C128-V1024.fp32.pth",
                   false),
        fx::golden("deep-L7-C64-V512", fix + "/golden/deep-L7-C64-V512", fix + "/models/deep-L7-C64-V512.bf16.pth", false),
    };
    models.push_back(fx::world_golden());
    for (const fx::Golden &g : models) run_fp32(g);

    // The three tiny files hold the same values: identical numbers on the fp32 path.
    const std::vector<int32_t> tokens = fx::int_array_at(models[0].json, fx::find_key(models[0].json, "tokens"));
    int32_t V = 0;
    const std::vector<float> ref = seq_logits(fix + "/models/tiny-L3-C128-V1024.fp32.pth", RWKV5_WEIGHTS_FP32, tokens, V);
    for (const char *dtype : {"bf16", "fp16"}) {
        const std::vector<float> l =
            seq_logits(fix + "/models/tiny-L3-C128-V1024." + dtype + ".pth", RWKV5_WEIGHTS_FP32, tokens, V);
        CHECK_MSG(!l.empty() && l == ref, std::string("tiny ") + dtype + " file gives other fp32 logits than the fp32 file");
    }

    fx::Golden tiny_bf16 = models[0];
    tiny_bf16.model_path = fix + "/models/tiny-L3-C128-V1024.bf16.pth";
    run_fast(tiny_bf16);
    for (size_t i = 1; i < models.size(); ++i) run_fast(models[i]);
    return test::finish("test_forward_golden");
}
