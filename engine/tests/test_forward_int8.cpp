// The int8 path against the upstream goldens on every fixture file: the
// accuracy bounds of the int8 weights (max KL(golden || int8) <= 5e-3 over all
// positions, the golden's top-1 kept wherever it leads its runner-up by 0.5,
// states finite, att_x/ffn_x within 0.5), in RNN and sequence mode and on
// resume; and a conversation checkpointed under the 16-bit path continuing
// under int8.
//
// The WKV part of the state is held to the manifest's bf16 tolerance (1.0),
// not the 0.5: on the 7-layer random fixture the int8 weights'
// rounding noise reaches 0.80 there (1.2% of that state's range of 64.7; the
// 16-bit path: 0.09; the other fixtures stay under 0.4). docs/rwkv5.md §11
// has the measurements: block sizes, matrices kept in 16 bits, a 0.1% scale
// change alone moving it between 0.66 and 0.83.
#include "ForwardFixture.h"

namespace {

constexpr double kMaxKl = 5e-3;
constexpr double kArgmaxMargin = 0.5;
constexpr double kMaxShiftDiff = 0.5;

struct Accuracy {
    double kl = 0, max_abs = 0;
    int argmax_checked = 0, argmax_differs = 0;
};

size_t argmax(const float *row, size_t n, float *margin) {
    size_t best = 0, second = n > 1 ? 1 : 0;
    if (n > 1 && row[1] > row[0]) std::swap(best, second);
    for (size_t i = 2; i < n; ++i) {
        if (row[i] > row[best]) {
            second = best;
            best = i;
        } else if (row[i] > row[second]) {
            second = i;
        }
    }
    *margin = row[best] - row[second];
    return best;
}

// `mine` holds engine rows; golden row i is engine row rows[i] - first.
Accuracy compare(const std::vector<float> &golden, const std::vector<float> &mine, size_t V,
                 const std::vector<int32_t> &rows, int32_t first = 0) {
    Accuracy a;
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] < first) continue;
        const float *g = golden.data() + i * V, *m = mine.data() + size_t(rows[i] - first) * V;
        a.kl = std::max(a.kl, fx::kl_row(g, m, V));
        a.max_abs = std::max(a.max_abs, fx::max_abs_diff(g, m, V));
        float margin = 0, unused = 0;
        const size_t top = argmax(g, V, &margin);
        if (margin < kArgmaxMargin) continue;
        ++a.argmax_checked;
        if (argmax(m, V, &unused) != top) ++a.argmax_differs;
    }
    return a;
}

// Positions where the golden's top-1 was confident, per fixture file.
int g_confident = 0;

void check(const fx::Golden &g, const char *what, const Accuracy &a) {
    g_confident += a.argmax_checked;
    std::printf("  %-26s max KL %.3g  max|dlogits| %.3g  argmax equal at %d/%d confident positions\n", what, a.kl,
                a.max_abs, a.argmax_checked - a.argmax_differs, a.argmax_checked);
    CHECK_MSG(a.kl <= kMaxKl, fx::fmt("%s %s: max KL %g > %g", g.name.c_str(), what, a.kl, kMaxKl));
    CHECK_MSG(a.argmax_differs == 0, fx::fmt("%s %s: argmax differs at %d confident positions", g.name.c_str(), what,
                                             a.argmax_differs));
}

void check_state(const fx::Golden &g, const char *what, const std::vector<float> &golden, const std::vector<float> &mine,
                 const rwkv5_model_info &info) {
    bool finite = mine.size() == golden.size();
    for (float v : mine) finite = finite && std::isfinite(v);
    CHECK_MSG(finite, fx::fmt("%s %s: state not finite (or wrong size)", g.name.c_str(), what));
    if (!finite) return;
    const fx::StateDiff d = fx::state_diff(golden, mine, info);
    std::printf("  %-26s max|datt_x,ffn_x| %.3g  max|dS| %.3g\n", what, d.att_ffn, d.wkv);
    const double max_wkv = fx::tolerance(g.json, "bf16").wkv;
    CHECK_MSG(d.att_ffn <= kMaxShiftDiff,
              fx::fmt("%s %s: att_x/ffn_x off by %g > %g", g.name.c_str(), what, d.att_ffn, kMaxShiftDiff));
    CHECK_MSG(d.wkv <= max_wkv, fx::fmt("%s %s: WKV state off by %g > %g", g.name.c_str(), what, d.wkv, max_wkv));
}

void run_int8(const fx::Golden &g) {
    std::printf("%s (int8 path, %s)\n", g.name.c_str(), g.model_path.substr(g.model_path.rfind('/') + 1).c_str());
    rwkv5_model *model = fx::load(g.model_path, RWKV5_WEIGHTS_INT8);
    CHECK_MSG(model != nullptr, g.model_path);
    if (!model) return;
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    CHECK(info.weight_type == RWKV5_WEIGHTS_INT8);
    const size_t V = size_t(info.n_vocab);
    rwkv5_context *ctx = fx::context(model, 1);
    const std::vector<int32_t> tokens = fx::int_array_at(g.json, fx::find_key(g.json, "tokens"));
    const std::vector<int32_t> resume = fx::int_array_at(g.json, fx::find_key(g.json, "resume_tokens"));
    const std::vector<float> state_final = fx::read_f32(g.dir + "/state_final.f32");
    std::vector<int32_t> rows;
    g_confident = 0;

    const std::vector<float> rnn = fx::feed_each(ctx, int32_t(V), 0, tokens);
    check(g, "rnn logits", compare(fx::golden_logits(g, "rnn", "logits_rnn.f32", tokens.size(), rows), rnn, V, rows));
    check_state(g, "rnn state_final", state_final, fx::get_state(ctx, 0), info);

    rwkv5_slot_reset(ctx, 0, nullptr);
    const std::vector<float> seq = fx::feed(ctx, int32_t(V), 0, tokens.data(), int32_t(tokens.size()), RWKV5_LOGITS_ALL);
    check(g, "seq logits", compare(fx::golden_logits(g, "seq", "logits_seq.f32", tokens.size(), rows), seq, V, rows));
    check_state(g, "seq state_final", state_final, fx::get_state(ctx, 0), info);

    fx::set_state(ctx, 0, fx::read_f32(g.dir + "/state_split.f32"));
    const std::vector<float> res = fx::feed_each(ctx, int32_t(V), 0, resume);
    check(g, "resume logits",
          compare(fx::golden_logits(g, "resume_rnn", "logits_resume.f32", resume.size(), rows), res, V, rows));
    check_state(g, "resume state", fx::read_f32(g.dir + "/state_resume_final.f32"), fx::get_state(ctx, 0), info);
    CHECK_MSG(g_confident > 0, g.name + ": no position with a confident golden top-1 (the argmax check checked nothing)");
    rwkv5_context_free(ctx);
    rwkv5_model_free(model);
}

// The first half of the tokens under the 16-bit path, its state exported and
// imported into an int8 context, the rest under int8: the continuation meets
// the int8 bounds against the golden sequence rows.
void run_checkpoint_across_precisions(const fx::Golden &g) {
    std::printf("%s (16-bit checkpoint continued under int8)\n", g.name.c_str());
    rwkv5_model *m16 = fx::load(g.model_path, RWKV5_WEIGHTS_16BIT);
    rwkv5_model *m8 = fx::load(g.model_path, RWKV5_WEIGHTS_INT8);
    CHECK(m16 != nullptr && m8 != nullptr);
    if (!m16 || !m8) return;
    rwkv5_model_info info{};
    rwkv5_model_get_info(m8, &info);
    const size_t V = size_t(info.n_vocab);
    const std::vector<int32_t> tokens = fx::int_array_at(g.json, fx::find_key(g.json, "tokens"));
    const int32_t half = int32_t(tokens.size() / 2), rest = int32_t(tokens.size()) - half;
    rwkv5_context *c16 = fx::context(m16, 1), *c8 = fx::context(m8, 2);
    fx::feed(c16, int32_t(V), 0, tokens.data(), half, RWKV5_LOGITS_NONE);
    fx::set_state(c8, 1, fx::get_state(c16, 0));
    const std::vector<float> cont = fx::feed(c8, int32_t(V), 1, tokens.data() + half, rest, RWKV5_LOGITS_ALL);
    std::vector<int32_t> rows;
    check(g, "continued logits",
          compare(fx::golden_logits(g, "seq", "logits_seq.f32", tokens.size(), rows), cont, V, rows, half));
    check_state(g, "continued state_final", fx::read_f32(g.dir + "/state_final.f32"), fx::get_state(c8, 1), info);
    rwkv5_context_free(c16);
    rwkv5_context_free(c8);
    rwkv5_model_free(m16);
    rwkv5_model_free(m8);
}

}  // namespace

int main() {
    const std::string fix = RWKV5_FIXTURES_DIR;
    std::vector<fx::Golden> models;
    for (const char *dtype : {"fp32", "bf16", "fp16"})
        models.push_back(fx::golden("tiny-L3-C128-V1024", fix + "/golden/tiny-L3-C128-V1024",
                                    fix + "/models/tiny-L3-C128-V1024." + dtype + ".pth", false));
    models.push_back(
        fx::golden("deep-L7-C64-V512", fix + "/golden/deep-L7-C64-V512", fix + "/models/deep-L7-C64-V512.bf16.pth", false));
    models.push_back(fx::world_golden());
    for (const fx::Golden &g : models) run_int8(g);
    for (const fx::Golden &g : models) run_checkpoint_across_precisions(g);
    return test::finish("test_forward_int8");
}
