// Batching and the context API: a batch of N slots (mixed prefill chunks and
// single tokens) equals N separate runs bit for bit; state get/set round
// trip; every invalid argument leaves states and logits untouched.
#include "ForwardFixture.h"

namespace {

const std::string kFix = RWKV5_FIXTURES_DIR;

// A batch of N slots equals N separate runs bit for bit (logits and states).
void check_batch_equals_separate(rwkv5_model *model, const char *what) {
    const fx::BatchAndSeparate run = fx::run_batch_and_separate(model);
    for (size_t s = 0; s < run.alone.size(); ++s) {
        CHECK_MSG(run.batched[s].logits == run.alone[s].logits, fx::fmt("%s stream %zu: batched logits differ", what, s));
        CHECK_MSG(run.batched[s].state == run.alone[s].state, fx::fmt("%s stream %zu: batched state differs", what, s));
    }
}

void check_state_round_trip(rwkv5_model *model) {
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    rwkv5_context *ctx = fx::context(model, 2);
    CHECK(rwkv5_state_size(ctx) == info.state_size);
    CHECK(info.state_size == uint64_t(info.n_layer) * (2 * info.n_embd + info.n_head * info.head_size * info.head_size) * 4);
    const std::vector<float> zero = fx::get_state(ctx, 1);
    CHECK(std::all_of(zero.begin(), zero.end(), [](float v) { return v == 0.0f; }));
    const int32_t toks[] = {10, 20, 30};
    const std::vector<float> l0 = fx::feed(ctx, info.n_vocab, 0, toks, 3, RWKV5_LOGITS_LAST);
    const std::vector<float> s0 = fx::get_state(ctx, 0);
    fx::set_state(ctx, 1, s0);
    CHECK(fx::get_state(ctx, 1) == s0);
    const int32_t next = 40;
    CHECK(fx::feed(ctx, info.n_vocab, 0, &next, 1, RWKV5_LOGITS_LAST) ==
          fx::feed(ctx, info.n_vocab, 1, &next, 1, RWKV5_LOGITS_LAST));
    CHECK(rwkv5_slot_reset(ctx, 1, nullptr) == RWKV5_OK);
    CHECK(fx::get_state(ctx, 1) == zero);
    rwkv5_context_free(ctx);
}

void check_invalid_arguments(rwkv5_model *model) {
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    rwkv5_context *ctx = fx::context(model, 2, 8);
    const int32_t good[] = {1, 2, 3};
    const std::vector<float> logits = fx::feed(ctx, info.n_vocab, 0, good, 3, RWKV5_LOGITS_LAST);
    const std::vector<float> s0 = fx::get_state(ctx, 0), s1 = fx::get_state(ctx, 1);
    const int32_t bad_token[] = {1, int32_t(info.n_vocab)};
    const int32_t negative[] = {-1};
    const int32_t many[9] = {};
    struct Bad {
        const char *what;
        std::vector<rwkv5_batch_item> items;
    };
    const std::vector<Bad> cases = {
        {"slot out of range", {{2, good, 1, RWKV5_LOGITS_LAST}}},
        {"negative slot", {{-1, good, 1, RWKV5_LOGITS_LAST}}},
        {"duplicate slot", {{0, good, 1, RWKV5_LOGITS_LAST}, {0, good, 1, RWKV5_LOGITS_LAST}}},
        {"token out of range", {{0, good, 1, RWKV5_LOGITS_LAST}, {1, bad_token, 2, RWKV5_LOGITS_LAST}}},
        {"negative token", {{1, negative, 1, RWKV5_LOGITS_LAST}}},
        {"zero tokens", {{0, good, 0, RWKV5_LOGITS_LAST}}},
        {"over max_batch_tokens", {{0, good, 3, RWKV5_LOGITS_NONE}, {1, many, 6, RWKV5_LOGITS_LAST}}},
        {"empty batch", {}},
    };
    for (const Bad &b : cases) {
        rwkv5_error err{};
        const rwkv5_status st = rwkv5_decode(ctx, b.items.data(), int32_t(b.items.size()), &err);
        CHECK_MSG(st == RWKV5_ERR_INVALID_ARGUMENT && err.code == st, b.what);
        CHECK_MSG(std::strlen(err.message) > 0, b.what);
        CHECK_MSG(fx::get_state(ctx, 0) == s0 && fx::get_state(ctx, 1) == s1, std::string(b.what) + ": state changed");
        int32_t rows = 0;
        const float *l = rwkv5_get_logits(ctx, 0, &rows);
        CHECK_MSG(rows == 1 && l && std::equal(logits.begin(), logits.end(), l), std::string(b.what) + ": logits changed");
    }
    std::vector<float> buf(s0.size());
    rwkv5_error err{};
    CHECK(rwkv5_slot_get_state(ctx, 2, buf.data(), buf.size() * 4, &err) == RWKV5_ERR_INVALID_ARGUMENT);
    CHECK(rwkv5_slot_get_state(ctx, 0, buf.data(), buf.size() * 4 - 4, &err) == RWKV5_ERR_INVALID_ARGUMENT);
    CHECK(rwkv5_slot_set_state(ctx, 0, buf.data(), buf.size() * 4 + 4, &err) == RWKV5_ERR_INVALID_ARGUMENT);
    CHECK(rwkv5_slot_reset(ctx, -1, &err) == RWKV5_ERR_INVALID_ARGUMENT);
    CHECK(fx::get_state(ctx, 0) == s0);
    rwkv5_context_params p = rwkv5_context_default_params();
    p.n_slots = 0;
    CHECK(rwkv5_context_init(model, &p, &err) == nullptr && err.code == RWKV5_ERR_INVALID_ARGUMENT);
    rwkv5_context_free(ctx);
}

void check_model_info_and_load_errors() {
    rwkv5_model_params p = rwkv5_model_default_params();
    CHECK(p.weight_type == RWKV5_WEIGHTS_16BIT && p.backend == RWKV5_BACKEND_AUTO);
    std::vector<float> progress;
    p.progress_callback = [](float f, void *user) {
        static_cast<std::vector<float> *>(user)->push_back(f);
        return true;
    };
    p.progress_user_data = &progress;
    rwkv5_error err{};
    rwkv5_model *m = rwkv5_model_load((kFix + "/models/tiny-L3-C128-V1024.bf16.pth").c_str(), &p, &err);
    CHECK_MSG(m != nullptr, err.message);
    if (m) {
        rwkv5_model_info info{};
        rwkv5_model_get_info(m, &info);
        CHECK(info.backend == RWKV5_BACKEND_CPU && info.weight_type == RWKV5_WEIGHTS_16BIT);
        CHECK(info.file_dtype == RWKV5_DTYPE_BF16);
        CHECK(std::strlen(info.model_id) == 64);
        // 3 layers x (4 C*A + A*C + F*C + C*C + C*F) + head V*C, bf16, + one bf16 embedding row.
        const uint64_t C = 128, F = 448, V = 1024;
        CHECK(info.decode_bytes_per_step == (3 * (5 * C * C + 2 * C * F + C * C) + V * C) * 2 + C * 2);
        CHECK(info.weight_bytes > info.decode_bytes_per_step);
        rwkv5_model_free(m);
    }
    CHECK(!progress.empty() && progress.back() == 1.0f);
    CHECK(std::is_sorted(progress.begin(), progress.end()));
    CHECK(std::count(progress.begin(), progress.end(), 1.0f) == 1);

    p.progress_callback = [](float f, void *) { return f < 0.3f; };
    m = rwkv5_model_load((kFix + "/models/tiny-L3-C128-V1024.bf16.pth").c_str(), &p, &err);
    CHECK(m == nullptr && err.code == RWKV5_ERR_ABORTED);
    p = rwkv5_model_default_params();
    p.backend = RWKV5_BACKEND_CUDA;
    m = rwkv5_model_load((kFix + "/models/tiny-L3-C128-V1024.bf16.pth").c_str(), &p, &err);
    CHECK(m == nullptr && err.code == RWKV5_ERR_BACKEND);
    CHECK(!rwkv5_supports_cuda());
    CHECK(std::string(rwkv5_cpu_kernel()).size() > 0 && std::string(rwkv5_system_info()).find("cpu:") == 0);
}

}  // namespace

int main() {
    check_model_info_and_load_errors();
    for (rwkv5_weight_type type : {RWKV5_WEIGHTS_FP32, RWKV5_WEIGHTS_16BIT, RWKV5_WEIGHTS_INT8}) {
        rwkv5_model *model = fx::load(kFix + "/models/tiny-L3-C128-V1024.bf16.pth", type);
        CHECK(model != nullptr);
        if (!model) continue;
        check_batch_equals_separate(model, fx::precision_name(type));
        check_state_round_trip(model);
        check_invalid_arguments(model);
        rwkv5_model_free(model);
    }
    return test::finish("test_engine_batch");
}
