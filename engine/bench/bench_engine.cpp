// Engine throughput against the memory-bandwidth roof: measured read
// bandwidth, 1/4/8/16-slot decode and 512-token prefill, with the ratios the
// performance floors are stated in. Not a test: speed is never asserted.
//
//   bench_engine MODEL.pth [--fp32] [--threads N] [--steps N] [--reps N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rwkv5.h"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void must(rwkv5_status st, const rwkv5_error &err) {
    if (st != RWKV5_OK) {
        std::fprintf(stderr, "error %d: %s\n", int(st), err.message);
        std::exit(1);
    }
}

// Best-of-reps tokens/s of `steps` batched decode steps of one token per slot.
double decode_rate(rwkv5_context *ctx, int32_t slots, int32_t steps, int32_t reps, int32_t n_vocab) {
    std::vector<int32_t> tokens(static_cast<size_t>(slots));
    std::vector<rwkv5_batch_item> items(static_cast<size_t>(slots));
    rwkv5_error err{};
    double best = 0;
    for (int32_t r = 0; r < reps; ++r) {
        const double t0 = now();
        for (int32_t s = 0; s < steps; ++s) {
            for (int32_t i = 0; i < slots; ++i) {
                tokens[size_t(i)] = (s * 131 + i * 977) % n_vocab;
                items[size_t(i)] = {i, &tokens[size_t(i)], 1, RWKV5_LOGITS_LAST};
            }
            must(rwkv5_decode(ctx, items.data(), slots, &err), err);
        }
        best = std::max(best, double(steps) * slots / (now() - t0));
    }
    return best;
}

double prefill_rate(rwkv5_context *ctx, int32_t n_tokens, int32_t reps, int32_t n_vocab) {
    std::vector<int32_t> tokens(static_cast<size_t>(n_tokens));
    for (int32_t i = 0; i < n_tokens; ++i) tokens[size_t(i)] = (i * 7919) % n_vocab;
    rwkv5_batch_item item{0, tokens.data(), n_tokens, RWKV5_LOGITS_LAST};
    rwkv5_error err{};
    double best = 0;
    for (int32_t r = 0; r < reps; ++r) {
        must(rwkv5_slot_reset(ctx, 0, &err), err);
        const double t0 = now();
        must(rwkv5_decode(ctx, &item, 1, &err), err);
        best = std::max(best, n_tokens / (now() - t0));
    }
    return best;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL.pth [--fp32|--int8] [--threads N] [--steps N] [--reps N]\n", argv[0]);
        return 2;
    }
    rwkv5_model_params mp = rwkv5_model_default_params();
    int32_t threads = 0, steps = 16, reps = 3;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--fp32") mp.weight_type = RWKV5_WEIGHTS_FP32;
        else if (a == "--int8") mp.weight_type = RWKV5_WEIGHTS_INT8;
        else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--steps" && i + 1 < argc) steps = std::atoi(argv[++i]);
        else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    }
    rwkv5_error err{};
    const double t_load = now();
    rwkv5_model *model = rwkv5_model_load(argv[1], &mp, &err);
    if (!model) {
        std::fprintf(stderr, "load failed (%d): %s\n", int(err.code), err.message);
        return 1;
    }
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    std::printf("%s\nmodel: L%d C%d F%d V%d, %s weights, loaded in %.2f s, %.1f MB read per decode step\n",
                rwkv5_system_info(), info.n_layer, info.n_embd, info.dim_ffn, info.n_vocab,
                info.weight_type == RWKV5_WEIGHTS_FP32 ? "fp32" : info.weight_type == RWKV5_WEIGHTS_INT8 ? "int8" : "16-bit",
                now() - t_load,
                double(info.decode_bytes_per_step) / 1e6);

    const double bw = rwkv5_measure_read_bandwidth(size_t(1) << 30, threads, 5);
    const double roof = bw / double(info.decode_bytes_per_step);
    std::printf("read bandwidth: %.2f GB/s -> decode roof %.2f tok/s\n", bw / 1e9, roof);

    rwkv5_context_params cp = rwkv5_context_default_params();
    cp.n_slots = 16;
    cp.n_threads = threads;
    cp.max_batch_tokens = 512;
    rwkv5_context *ctx = rwkv5_context_init(model, &cp, &err);
    if (!ctx) {
        std::fprintf(stderr, "context failed: %s\n", err.message);
        return 1;
    }
    decode_rate(ctx, 1, 2, 1, info.n_vocab);  // warm-up
    double one = 0;
    for (int32_t slots : {1, 4, 8, 16}) {
        const double rate = decode_rate(ctx, slots, steps, reps, info.n_vocab);
        if (slots == 1) one = rate;
        std::printf("decode %2d slot(s): %8.2f tok/s aggregate  (%.2fx 1-slot%s)\n", slots, rate, rate / one,
                    slots == 1 ? "" : "");
    }
    const double prefill = prefill_rate(ctx, 512, reps, info.n_vocab);
    const double eight = decode_rate(ctx, 8, steps, reps, info.n_vocab);
    std::printf("prefill 512 tokens: %.2f tok/s\n", prefill);
    std::printf("ratios: 1-slot/roof %.3f (floor 0.85)  8-slot/1-slot %.2f (floor 2.5)  prefill/1-slot %.2f (floor 2.5)\n",
                one / roof, eight / one, prefill / one);
    rwkv5_context_free(ctx);
    rwkv5_model_free(model);
    return 0;
}
