// gpu tier: the CUDA fp16 backend against the upstream goldens with the fp16
// tolerances of docs/rwkv5.md §11 (logits, KL, states, argmax where the golden
// margin is >= 0.1, greedy generation teacher-forced), chunked prefill,
// a batch of N == N single runs within tolerance, and a state exported from
// the GPU continuing on the CPU backend and back. The int8 path: the device
// quantizes to the same int8 weights as the CPU backend, so CUDA int8 is held
// to the CPU int8 path (whose accuracy against the goldens the CPU tier
// checks) within the fp16 tolerances (the device's activations are fp16), in
// RNN mode (int8 GEMV) and in prefills of more rows than it takes (the
// dequantizing path); batches and backend crossings as for fp16. Exits 77
// (CTest skip) with the reason when the build or host has no usable CUDA device.
#include <algorithm>

#include "ForwardFixture.h"
#include "cuda/cuda.h"

namespace {

constexpr int kSkip = 77;

// The CUDA backend with its fp16 weights, or the CPU backend at fp32; either
// with int8 weights when asked.
rwkv5_model *load(const std::string &path, rwkv5_backend backend, bool int8 = false) {
    const rwkv5_weight_type type =
        int8 ? RWKV5_WEIGHTS_INT8 : backend == RWKV5_BACKEND_CUDA ? RWKV5_WEIGHTS_16BIT : RWKV5_WEIGHTS_FP32;
    rwkv5_model *m = fx::load(path, type, backend);
    CHECK_MSG(m != nullptr, path);
    return m;
}

double margin(const float *row, size_t V) {
    float a = -1e30f, b = -1e30f;
    for (size_t i = 0; i < V; ++i) {
        if (row[i] > a) {
            b = a;
            a = row[i];
        } else if (row[i] > b) {
            b = row[i];
        }
    }
    return double(a) - double(b);
}

size_t argmax(const float *row, size_t V) { return size_t(std::max_element(row, row + V) - row); }

// Golden rows vs engine rows (`rows[i]` = engine row of golden row i): max
// |Δ|, KL and argmax wherever the golden margin reaches the tolerance's.
void check_logits(const fx::Golden &g, const char *what, const std::vector<float> &golden, const std::vector<float> &mine,
                  size_t V, const std::vector<int32_t> &rows, const fx::Tolerance &tol, double argmax_margin) {
    double max_abs = 0, kl = 0;
    int argmax_bad = 0, argmax_checked = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        if ((size_t(rows[i]) + 1) * V > mine.size()) {
            CHECK_MSG(false, fx::fmt("%s %s: engine row %d missing", g.name.c_str(), what, rows[i]));
            return;
        }
        const float *gr = golden.data() + i * V, *mr = mine.data() + size_t(rows[i]) * V;
        max_abs = std::max(max_abs, fx::max_abs_diff(gr, mr, V));
        kl = std::max(kl, fx::kl_row(gr, mr, V));
        if (margin(gr, V) >= argmax_margin) {
            ++argmax_checked;
            if (argmax(gr, V) != argmax(mr, V)) ++argmax_bad;
        }
    }
    std::printf("  %-26s max|dlogits| %.4g (<= %.3g)  max KL %.3g (<= %.3g)  argmax %d/%d\n", what, max_abs, tol.logits,
                kl, tol.kl, argmax_checked - argmax_bad, argmax_checked);
    CHECK_MSG(max_abs <= tol.logits, fx::fmt("%s %s: max |dlogits| %g > %g", g.name.c_str(), what, max_abs, tol.logits));
    CHECK_MSG(kl <= tol.kl, fx::fmt("%s %s: KL %g > %g", g.name.c_str(), what, kl, tol.kl));
    CHECK_MSG(argmax_bad == 0, fx::fmt("%s %s: %d argmax differ where the margin >= %g", g.name.c_str(), what,
                                       argmax_bad, argmax_margin));
}

void check_state(const fx::Golden &g, const char *what, const std::vector<float> &golden, const std::vector<float> &mine,
                 const rwkv5_model_info &info, const fx::Tolerance &tol) {
    CHECK_MSG(golden.size() == mine.size(), fx::fmt("%s %s: state size", g.name.c_str(), what));
    if (golden.size() != mine.size()) return;
    const fx::StateDiff d = fx::state_diff(golden, mine, info);
    std::printf("  %-26s max|datt_x,ffn_x| %.3g (<= %.3g)  max|dS| %.3g (<= %.3g)\n", what, d.att_ffn, tol.att_ffn, d.wkv,
                tol.wkv);
    CHECK_MSG(d.att_ffn <= tol.att_ffn, fx::fmt("%s %s: att_x/ffn_x %g > %g", g.name.c_str(), what, d.att_ffn, tol.att_ffn));
    CHECK_MSG(d.wkv <= tol.wkv, fx::fmt("%s %s: wkv %g > %g", g.name.c_str(), what, d.wkv, tol.wkv));
}

// docs/rwkv5.md §11 greedy rule for reduced precision: penalties and feeding follow
// the golden tokens; the engine's pick must be golden wherever the margin is
// >= argmax_margin.
void check_greedy_teacher_forced(const fx::Golden &g, rwkv5_context *ctx, int32_t V, std::vector<float> logits,
                                 double argmax_margin) {
    const size_t base = fx::find_key(g.json, "greedy_generation");
    const double presence = fx::number_at(g.json, fx::find_key(g.json, "presence", base));
    const double frequency = fx::number_at(g.json, fx::find_key(g.json, "frequency", base));
    const double decay = fx::number_at(g.json, fx::find_key(g.json, "decay", base));
    const std::vector<int32_t> want = fx::int_array_at(g.json, fx::find_key(g.json, "tokens", base));
    const size_t margins_at = fx::find_key(g.json, "top1_minus_top2_margin", base);
    std::vector<double> margins;
    for (size_t p = g.json.find('[', margins_at) + 1, i = 0; i < want.size(); ++i) {
        char *next = nullptr;
        margins.push_back(std::strtod(g.json.c_str() + p, &next));
        p = size_t(next - g.json.c_str()) + 1;
    }
    std::vector<double> occurrence(size_t(V), 0.0);
    std::vector<char> seen(size_t(V), 0);
    int checked = 0, bad = 0;
    for (size_t step = 0; step < want.size(); ++step) {
        for (int32_t t = 0; t < V; ++t)
            if (seen[size_t(t)]) logits[size_t(t)] -= float(presence + occurrence[size_t(t)] * frequency);
        logits[0] -= 1e10f;
        const int32_t pick = int32_t(argmax(logits.data(), size_t(V)));
        if (margins[step] >= argmax_margin) {
            ++checked;
            if (pick != want[step]) ++bad;
        }
        const int32_t tok = want[step];
        for (double &o : occurrence) o *= decay;
        occurrence[size_t(tok)] += 1;
        seen[size_t(tok)] = 1;
        logits = fx::feed(ctx, V, 0, &tok, 1, RWKV5_LOGITS_LAST);
    }
    std::printf("  %-26s %d/%d golden picks where the margin >= %g\n", "greedy (teacher-forced)", checked - bad, checked,
                argmax_margin);
    CHECK_MSG(bad == 0, fx::fmt("%s: %d teacher-forced greedy picks differ", g.name.c_str(), bad));
}

void run_goldens(const fx::Golden &g) {
    std::printf("%s (%s)\n", g.name.c_str(), g.model_path.c_str());
    rwkv5_model *model = load(g.model_path, RWKV5_BACKEND_CUDA);
    if (!model) return;
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    CHECK(info.backend == RWKV5_BACKEND_CUDA);
    const size_t V = size_t(info.n_vocab);
    rwkv5_context *ctx = fx::context(model, 1, 512);
    const fx::Tolerance tol = fx::tolerance(g.json, "fp16");
    const double amargin = fx::number_at(g.json, fx::find_key(g.json, "argmax_margin",
                                                              fx::find_key(g.json, "fp16", fx::find_key(g.json, "recommended_tolerances"))));
    const std::vector<int32_t> tokens = fx::int_array_at(g.json, fx::find_key(g.json, "tokens"));
    const std::vector<int32_t> resume = fx::int_array_at(g.json, fx::find_key(g.json, "resume_tokens"));
    const int32_t n = int32_t(tokens.size());
    const std::vector<float> state_final = fx::read_f32(g.dir + "/state_final.f32");
    std::vector<int32_t> rows;

    const std::vector<float> rnn = fx::feed_each(ctx, int32_t(V), 0, tokens);
    std::vector<float> gold = fx::golden_logits(g, "rnn", "logits_rnn.f32", size_t(n), rows);
    check_logits(g, "rnn logits", gold, rnn, V, rows, tol, amargin);
    check_state(g, "rnn state_final", state_final, fx::get_state(ctx, 0), info, tol);

    rwkv5_slot_reset(ctx, 0, nullptr);
    const std::vector<float> seq = fx::feed(ctx, int32_t(V), 0, tokens.data(), n, RWKV5_LOGITS_ALL);
    gold = fx::golden_logits(g, "seq", "logits_seq.f32", size_t(n), rows);
    check_logits(g, "seq logits", gold, seq, V, rows, tol, amargin);
    check_state(g, "seq state_final", state_final, fx::get_state(ctx, 0), info, tol);
    check_greedy_teacher_forced(g, ctx, int32_t(V), std::vector<float>(seq.end() - long(V), seq.end()), amargin);

    // Chunked prefill: within tolerance of the golden last row and state.
    for (int32_t chunk : {7, 16}) {
        rwkv5_slot_reset(ctx, 0, nullptr);
        std::vector<float> l;
        for (int32_t s = 0; s < n; s += chunk) {
            const int32_t len = std::min(chunk, n - s);
            l = fx::feed(ctx, int32_t(V), 0, tokens.data() + s, len, s + len == n ? RWKV5_LOGITS_LAST : RWKV5_LOGITS_NONE);
        }
        std::vector<int32_t> last_rows;
        const std::vector<float> gold_seq = fx::golden_logits(g, "seq", "logits_seq.f32", size_t(n), last_rows);
        if (!g.rows_only || last_rows.back() == n - 1) {
            const std::vector<float> gold_last(gold_seq.end() - long(V), gold_seq.end());
            check_logits(g, fx::fmt("chunks of %d, last", chunk).c_str(), gold_last, l, V, {0}, tol, amargin);
        }
        check_state(g, fx::fmt("chunks of %d, state", chunk).c_str(), state_final, fx::get_state(ctx, 0), info, tol);
    }

    fx::set_state(ctx, 0, fx::read_f32(g.dir + "/state_split.f32"));
    const std::vector<float> res = fx::feed_each(ctx, int32_t(V), 0, resume);
    gold = fx::golden_logits(g, "resume_rnn", "logits_resume.f32", resume.size(), rows);
    check_logits(g, "resume logits", gold, res, V, rows, tol, amargin);
    check_state(g, "resume state", fx::read_f32(g.dir + "/state_resume_final.f32"), fx::get_state(ctx, 0), info, tol);
    rwkv5_context_free(ctx);
    rwkv5_model_free(model);
}

// A batch of N mixed prefill chunks and single tokens equals N single runs
// within the fp16 tolerances (different GEMM shapes may round differently).
void check_batch_equals_single(const std::string &path, const fx::Tolerance &tol, bool int8 = false) {
    std::printf("batch of 4 vs 4 single runs (%s%s)\n", path.c_str(), int8 ? ", int8" : "");
    rwkv5_model *model = load(path, RWKV5_BACKEND_CUDA, int8);
    if (!model) return;
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    const fx::BatchAndSeparate run = fx::run_batch_and_separate(model);
    for (size_t s = 0; s < run.alone.size(); ++s) {
        const std::vector<float> &batched = run.batched[s].logits, &alone = run.alone[s].logits;
        const bool same_size = batched.size() == alone.size();
        CHECK_MSG(same_size, fx::fmt("stream %zu: logits rows differ", s));
        const double d = same_size ? fx::max_abs_diff(batched.data(), alone.data(), batched.size()) : 1e9;
        const fx::StateDiff sd = fx::state_diff(run.alone[s].state, run.batched[s].state, info);
        std::printf("  stream %zu: max|dlogits| %.3g  max|datt_x,ffn_x| %.3g  max|dS| %.3g\n", s, d, sd.att_ffn, sd.wkv);
        CHECK_MSG(d <= tol.logits, fx::fmt("stream %zu: batched logits differ by %g", s, d));
        CHECK_MSG(sd.att_ffn <= tol.att_ffn && sd.wkv <= tol.wkv, fx::fmt("stream %zu: batched state differs", s));
    }
    rwkv5_model_free(model);
}

// GPU state -> CPU backend -> GPU: each leg continues like the other within tolerance.
void check_state_crosses_backends(const std::string &path, const std::vector<int32_t> &tokens, const fx::Tolerance &tol,
                                  bool int8 = false) {
    std::printf("state GPU -> CPU -> GPU (%s%s)\n", path.c_str(), int8 ? ", int8" : "");
    rwkv5_model *gpu = load(path, RWKV5_BACKEND_CUDA, int8);
    rwkv5_model *cpu = load(path, RWKV5_BACKEND_CPU, int8);
    if (!gpu || !cpu) return;
    rwkv5_model_info info{};
    rwkv5_model_get_info(gpu, &info);
    const int32_t V = info.n_vocab;
    rwkv5_context *g = fx::context(gpu, 1), *c = fx::context(cpu, 1);
    const int32_t half = int32_t(tokens.size() / 2), rest = int32_t(tokens.size()) - half;
    fx::feed(g, V, 0, tokens.data(), half, RWKV5_LOGITS_NONE);
    const std::vector<float> exported = fx::get_state(g, 0);
    fx::set_state(c, 0, exported);
    const std::vector<float> on_gpu = fx::feed(g, V, 0, tokens.data() + half, rest, RWKV5_LOGITS_ALL);
    const std::vector<float> on_cpu = fx::feed(c, V, 0, tokens.data() + half, rest, RWKV5_LOGITS_ALL);
    const double d1 = fx::max_abs_diff(on_gpu.data(), on_cpu.data(), std::min(on_gpu.size(), on_cpu.size()));
    std::printf("  GPU state continued on CPU vs GPU: max|dlogits| %.3g\n", d1);
    CHECK_MSG(on_gpu.size() == on_cpu.size() && d1 <= tol.logits, fx::fmt("GPU->CPU continuation differs by %g", d1));
    // And back: the CPU's state continues on the GPU.
    fx::set_state(g, 0, fx::get_state(c, 0));
    const int32_t more[] = {3, 14, 15, 92, 65};
    const std::vector<float> back_gpu = fx::feed(g, V, 0, more, 5, RWKV5_LOGITS_ALL);
    const std::vector<float> back_cpu = fx::feed(c, V, 0, more, 5, RWKV5_LOGITS_ALL);
    const double d2 = fx::max_abs_diff(back_gpu.data(), back_cpu.data(), std::min(back_gpu.size(), back_cpu.size()));
    std::printf("  CPU state continued on GPU vs CPU: max|dlogits| %.3g\n", d2);
    CHECK_MSG(back_gpu.size() == back_cpu.size() && d2 <= tol.logits, fx::fmt("CPU->GPU continuation differs by %g", d2));
    rwkv5_context_free(g);
    rwkv5_context_free(c);
    rwkv5_model_free(gpu);
    rwkv5_model_free(cpu);
}

// CUDA int8 vs CPU int8 on one fixture: RNN mode, then the whole sequence in
// one prefill (more rows than gemv_q8 takes), logits and final states.
void check_int8_matches_cpu(const fx::Golden &g) {
    std::printf("%s, int8: CUDA vs CPU\n", g.name.c_str());
    rwkv5_model *gpu = load(g.model_path, RWKV5_BACKEND_CUDA, true);
    rwkv5_model *cpu = load(g.model_path, RWKV5_BACKEND_CPU, true);
    if (!gpu || !cpu) return;
    rwkv5_model_info info{}, gpu_info{}, fp16_info{};
    rwkv5_model_get_info(cpu, &info);
    rwkv5_model_get_info(gpu, &gpu_info);
    CHECK(gpu_info.backend == RWKV5_BACKEND_CUDA && gpu_info.weight_type == RWKV5_WEIGHTS_INT8);
    rwkv5_model *fp16 = load(g.model_path, RWKV5_BACKEND_CUDA);
    if (fp16) {
        rwkv5_model_get_info(fp16, &fp16_info);
        std::printf("  decode bytes per step: int8 %llu, fp16 %llu\n", (unsigned long long)gpu_info.decode_bytes_per_step,
                    (unsigned long long)fp16_info.decode_bytes_per_step);
        CHECK_MSG(gpu_info.decode_bytes_per_step < fp16_info.decode_bytes_per_step * 6 / 10,
                  "the int8 weights read per step are not about half the fp16 ones");
        rwkv5_model_free(fp16);
    }
    const fx::Tolerance tol = fx::tolerance(g.json, "fp16");
    const size_t V = size_t(info.n_vocab);
    std::vector<int32_t> tokens = fx::int_array_at(g.json, fx::find_key(g.json, "tokens"));
    // Past kGemvQ8MaxRows (16) rows whatever the fixture's length: the prefill takes the dequantizing path.
    while (tokens.size() < 40) tokens.insert(tokens.end(), tokens.begin(), tokens.end());
    const int32_t n = int32_t(tokens.size());
    std::vector<int32_t> rows(tokens.size());
    for (int32_t i = 0; i < n; ++i) rows[size_t(i)] = i;
    rwkv5_context *gc = fx::context(gpu, 1), *cc = fx::context(cpu, 1);
    const std::vector<float> cpu_rnn = fx::feed_each(cc, int32_t(V), 0, tokens);
    check_logits(g, "int8 rnn logits", cpu_rnn, fx::feed_each(gc, int32_t(V), 0, tokens), V, rows, tol, 0.1);
    check_state(g, "int8 rnn state", fx::get_state(cc, 0), fx::get_state(gc, 0), info, tol);
    rwkv5_slot_reset(gc, 0, nullptr);
    rwkv5_slot_reset(cc, 0, nullptr);
    const std::vector<float> cpu_seq = fx::feed(cc, int32_t(V), 0, tokens.data(), n, RWKV5_LOGITS_ALL);
    check_logits(g, "int8 seq logits", cpu_seq, fx::feed(gc, int32_t(V), 0, tokens.data(), n, RWKV5_LOGITS_ALL), V, rows,
                 tol, 0.1);
    check_state(g, "int8 seq state", fx::get_state(cc, 0), fx::get_state(gc, 0), info, tol);
    rwkv5_context_free(gc);
    rwkv5_context_free(cc);
    rwkv5_model_free(gpu);
    rwkv5_model_free(cpu);
}

// The device bytes planned from the shape alone (what the load's budget is
// checked against) are what the upload allocates, at fp16 and int8; and AUTO
// takes int8 on the device when fp16 exceeds the budget.
void check_device_budget(const std::string &path) {
    std::printf("%s (device memory plan)\n", path.c_str());
    uint64_t fp16_bytes = 0;
    for (bool int8 : {false, true}) {
        rwkv5_model *m = load(path, RWKV5_BACKEND_CUDA, int8);
        if (!m) continue;
        rwkv5_model_info info{};
        rwkv5_model_get_info(m, &info);
        // weight_bytes counts the embedding too, which stays on the host (16-bit for this file).
        const uint64_t device = info.weight_bytes - uint64_t(info.n_vocab) * uint64_t(info.n_embd) * 2;
        const uint64_t planned = rwkv5::cuda::device_weight_bytes(fx::shape_of(info), int8);
        CHECK_MSG(planned == device, fx::fmt("planned %llu device bytes, uploaded %llu (int8 %d)",
                                             (unsigned long long)planned, (unsigned long long)device, int(int8)));
        CHECK(info.memory_budget > 0);
        if (!int8) fp16_bytes = planned;
        rwkv5_model_free(m);
    }
    rwkv5_model_params p = rwkv5_model_default_params();
    p.weight_type = RWKV5_WEIGHTS_AUTO;
    p.backend = RWKV5_BACKEND_CUDA;
    p.memory_budget = fp16_bytes - 1;
    rwkv5_error err{};
    rwkv5_model *m = rwkv5_model_load(path.c_str(), &p, &err);
    CHECK_MSG(m != nullptr, err.message);
    if (!m) return;
    rwkv5_model_info info{};
    rwkv5_model_get_info(m, &info);
    CHECK(info.weight_type == RWKV5_WEIGHTS_INT8 && info.backend == RWKV5_BACKEND_CUDA);
    rwkv5_model_free(m);
}

}  // namespace

int main() {
    std::printf("%s\n", rwkv5_system_info());
    if (!rwkv5_supports_cuda()) {
        std::printf("SKIP test_gpu_forward: no usable CUDA device (see the system info above)\n");
        return kSkip;
    }
    const std::string fix = RWKV5_FIXTURES_DIR;
    const std::string tiny = fix + "/golden/tiny-L3-C128-V1024", deep = fix + "/golden/deep-L7-C64-V512";
    std::vector<fx::Golden> models = {
        fx::golden("tiny-L3-C128-V1024 fp32 file", tiny, fix + "/models/tiny-L3-C128-V1024.fp32.pth", false),
        fx::golden("tiny-L3-C128-V1024 bf16 file", tiny, fix + "/models/tiny-L3-C128-V1024.bf16.pth", false),
        fx::golden("tiny-L3-C128-V1024 fp16 file", tiny, fix + "/models/tiny-L3-C128-V1024.fp16.pth", false),
        fx::golden("deep-L7-C64-V512", deep, fix + "/models/deep-L7-C64-V512.bf16.pth", false),
    };
    models.push_back(fx::world_golden());
    for (const fx::Golden &g : models) run_goldens(g);
    const fx::Tolerance tol = fx::tolerance(models[0].json, "fp16");
    check_batch_equals_single(models[0].model_path, tol);
    check_batch_equals_single(models[3].model_path, fx::tolerance(models[3].json, "fp16"));
    const std::vector<int32_t> tokens = fx::int_array_at(models[1].json, fx::find_key(models[1].json, "tokens"));
    check_state_crosses_backends(models[1].model_path, tokens, tol);
    for (const fx::Golden &g : models) check_int8_matches_cpu(g);
    check_batch_equals_single(models[0].model_path, tol, true);
    check_state_crosses_backends(models[1].model_path, tokens, tol, true);
    check_device_budget(models[1].model_path);
    return test::finish("test_gpu_forward");
}
