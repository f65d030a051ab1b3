// The CUDA backend's benchmark (scripts/gpu-check.sh runs it): device
// bandwidth (a large device-to-device copy, bytes read + written), decode
// tokens/s at 1/8/32/64/128 slots with chat sampling in the engine (and 1 slot
// with logits only), prefill tokens/s for 512 and 4096 tokens with their
// fraction of the fp16 tensor-core peak, and device memory with 8 slots, for a
// random-weight model of the 12B chat model's shape written on the benchmark
// machine itself. Prints one table with the floors. Speed is reported,
// never asserted by a test. With --int8 the same for int8 weights (quantized
// at load on the device), against the int8 floors: 1-slot decode >= 0.8 of
// its roof (bandwidth / the int8 bytes read per step), <= 14 GiB with 8 slots.
//
//   bench_cuda --random-12b PATH   (writes PATH unless it exists, then benchmarks it)
//   bench_cuda --model PATH        (any RWKV-5.2 .pth)
//   options: --int8, --steps N (decode steps per rate, default 32), --reps N (default 3)
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "RandomPth.h"
#include "rwkv5.h"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void must(rwkv5_status st, const rwkv5_error &err, const char *what) {
    if (st != RWKV5_OK) {
        std::fprintf(stderr, "%s: error %d: %s\n", what, int(st), err.message);
        std::exit(1);
    }
}

void cuda_must(cudaError_t e, const char *what) {
    if (e != cudaSuccess) {
        std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
        std::exit(1);
    }
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Device-to-device copy of 4 GiB, counting bytes read + written; median of 10.
double device_bandwidth() {
    const size_t bytes = size_t(4) << 30;
    void *a = nullptr, *b = nullptr;
    cuda_must(cudaMalloc(&a, bytes), "cudaMalloc (bandwidth)");
    cuda_must(cudaMalloc(&b, bytes), "cudaMalloc (bandwidth)");
    cuda_must(cudaMemset(a, 1, bytes), "cudaMemset");
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    std::vector<double> rates;
    for (int r = 0; r < 13; ++r) {
        cudaEventRecord(e0);
        cuda_must(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy D2D");
        cudaEventRecord(e1);
        cuda_must(cudaEventSynchronize(e1), "bandwidth copy");
        float ms = 0;
        cudaEventElapsedTime(&ms, e0, e1);
        if (r >= 3) rates.push_back(2.0 * double(bytes) / (double(ms) * 1e-3));
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaFree(a);
    cudaFree(b);
    return median(rates);
}

double device_used_bytes() {
    size_t free_b = 0, total_b = 0;
    cuda_must(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    return double(total_b - free_b);
}

rwkv5_context *context(rwkv5_model *m, int32_t slots, int32_t max_tokens) {
    rwkv5_context_params p = rwkv5_context_default_params();
    p.n_slots = slots;
    p.max_batch_tokens = max_tokens;
    rwkv5_error err{};
    rwkv5_context *c = rwkv5_context_init(m, &p, &err);
    if (!c) must(err.code, err, "context");
    return c;
}

// One decode step of one token per slot: each item samples its next token in
// the engine with the chat defaults (temperature 1, top-p 0.3, the chat
// penalties, token 0 banned), or, with `sample` false, copies its logits out.
void decode_step(rwkv5_context *ctx, int32_t slots, int32_t step, int32_t n_vocab, bool sample = true) {
    static const int32_t banned[] = {0};
    std::vector<int32_t> tokens(static_cast<size_t>(slots));
    std::vector<rwkv5_batch_item> items(static_cast<size_t>(slots));
    std::vector<rwkv5_sampling_params> params(static_cast<size_t>(slots));
    for (int32_t i = 0; i < slots; ++i) {
        tokens[size_t(i)] = (step * 131 + i * 977) % n_vocab;
        rwkv5_sampling_params &p = params[size_t(i)];
        p.temperature = 1;
        p.top_p = 0.3;
        p.presence_penalty = 0.5;
        p.frequency_penalty = 0.5;
        p.penalty_decay = 0.996;
        p.banned = banned;
        p.n_banned = 1;
        p.uniform = double((step * 7 + i * 13) % 97) / 97;
        p.new_reply = step == 0;
        items[size_t(i)] = {i, &tokens[size_t(i)], 1, sample ? RWKV5_LOGITS_NONE : RWKV5_LOGITS_LAST,
                            sample ? &p : nullptr};
    }
    rwkv5_error err{};
    must(rwkv5_decode(ctx, items.data(), slots, &err), err, "decode");
}

// Median over reps of tokens/s of `steps` decode steps (after 3 warm-up steps,
// which also capture the CUDA graph of this batch size).
double decode_rate(rwkv5_context *ctx, int32_t slots, int32_t steps, int32_t reps, int32_t n_vocab, bool sample = true) {
    for (int32_t s = 0; s < 3; ++s) decode_step(ctx, slots, s, n_vocab, sample);
    std::vector<double> rates;
    for (int32_t r = 0; r < reps; ++r) {
        const double t0 = now();
        for (int32_t s = 0; s < steps; ++s) decode_step(ctx, slots, s, n_vocab, sample);
        rates.push_back(double(steps) * slots / (now() - t0));
    }
    return median(rates);
}

double prefill_rate(rwkv5_context *ctx, int32_t n_tokens, int32_t reps, int32_t n_vocab) {
    std::vector<int32_t> tokens(static_cast<size_t>(n_tokens));
    for (int32_t i = 0; i < n_tokens; ++i) tokens[size_t(i)] = (i * 7919) % n_vocab;
    rwkv5_batch_item item{0, tokens.data(), n_tokens, RWKV5_LOGITS_LAST, nullptr};
    rwkv5_error err{};
    std::vector<double> rates;
    for (int32_t r = 0; r <= reps; ++r) {
        must(rwkv5_slot_reset(ctx, 0, &err), err, "reset");
        const double t0 = now();
        must(rwkv5_decode(ctx, &item, 1, &err), err, "prefill");
        if (r > 0) rates.push_back(n_tokens / (now() - t0));  // r == 0 warms up
    }
    return median(rates);
}

bool on_progress(float f, void *last) {
    float &l = *static_cast<float *>(last);
    if (f >= l + 0.1f || f >= 1.0f) {
        std::printf("  load %3.0f%%\n", double(f) * 100);
        std::fflush(stdout);
        l = f;
    }
    return true;
}

const char *verdict(bool ok) { return ok ? "PASS" : "FAIL"; }

}  // namespace

int main(int argc, char **argv) {
    std::string path;
    bool random = false, int8 = false;
    int32_t steps = 32, reps = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--random-12b" || a == "--model") && i + 1 < argc) {
            random = a == "--random-12b";
            path = argv[++i];
        } else if (a == "--int8") {
            int8 = true;
        } else if (a == "--steps" && i + 1 < argc) {
            steps = std::atoi(argv[++i]);
        } else if (a == "--reps" && i + 1 < argc) {
            reps = std::atoi(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: bench_cuda (--random-12b PATH | --model PATH) [--int8] [--steps N] [--reps N]\n");
            return 2;
        }
    }
    if (path.empty()) {
        std::fprintf(stderr, "usage: bench_cuda (--random-12b PATH | --model PATH) [--int8] [--steps N] [--reps N]\n");
        return 2;
    }
    std::printf("%s\n", rwkv5_system_info());
    if (!rwkv5_supports_cuda()) {
        std::fprintf(stderr, "bench_cuda: no usable CUDA device\n");
        return 1;
    }
    cudaDeviceProp prop{};
    cuda_must(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");

    struct stat st{};
    if (random && stat(path.c_str(), &st) != 0) {
        // docs/rwkv5.md §1: the 12B chat model's (inferred) shape.
        const bench::Shape s{32, 5120, 80, 64, 17920, 65536};
        std::printf("writing a random 12B-shape model to %s\n", path.c_str());
        const double t0 = now();
        double last = 0;
        bench::write_random_pth(path, s, [&](double f) {
            if (f >= last + 0.1) {
                std::printf("  write %3.0f%%\n", f * 100);
                std::fflush(stdout);
                last = f;
            }
        });
        std::printf("  written in %.1f s\n", now() - t0);
    }

    const double bandwidth = device_bandwidth();
    const double baseline = device_used_bytes();  // the CUDA context of this process

    rwkv5_model_params mp = rwkv5_model_default_params();
    mp.backend = RWKV5_BACKEND_CUDA;
    mp.weight_type = int8 ? RWKV5_WEIGHTS_INT8 : RWKV5_WEIGHTS_16BIT;
    float last = 0;
    mp.progress_callback = on_progress;
    mp.progress_user_data = &last;
    rwkv5_error err{};
    const double tl = now();
    rwkv5_model *model = rwkv5_model_load(path.c_str(), &mp, &err);
    if (!model) must(err.code, err, "load");
    const double load_s = now() - tl;
    rwkv5_model_info info{};
    rwkv5_model_get_info(model, &info);
    const int32_t V = info.n_vocab;
    std::printf("model: L=%d C=%d H=%d F=%d V=%d, %.2f B params, loaded in %.1f s; weights %.2f GB, %.2f GB read per "
                "decode step\n",
                info.n_layer, info.n_embd, info.n_head, info.dim_ffn, V, double(info.n_params) * 1e-9, load_s,
                double(info.weight_bytes) * 1e-9, double(info.decode_bytes_per_step) * 1e-9);

    // Peak device memory with 8 slots (default max_batch_tokens), after decoding.
    double mem8 = 0;
    {
        rwkv5_context *c8 = context(model, 8, 512);
        for (int32_t s = 0; s < 4; ++s) decode_step(c8, 8, s, V);
        mem8 = device_used_bytes();
        rwkv5_context_free(c8);
    }

    rwkv5_context *dec = context(model, 128, 128);
    const int32_t slot_counts[] = {1, 8, 32, 64, 128};
    double rate[5] = {0, 0, 0, 0, 0};
    for (int i = 0; i < 5; ++i) {
        rate[i] = decode_rate(dec, slot_counts[i], steps, reps, V);
        std::printf("  decode %3d slot(s), sampled in the engine: %9.1f tok/s\n", slot_counts[i], rate[i]);
        std::fflush(stdout);
    }
    const double logits_only = decode_rate(dec, 1, steps, reps, V, false);
    std::printf("  decode   1 slot, logits copied out: %9.1f tok/s\n", logits_only);
    rwkv5_context_free(dec);

    rwkv5_context *pre = context(model, 1, 4096);
    const double pre512 = prefill_rate(pre, 512, reps, V);
    const double pre4096 = prefill_rate(pre, 4096, reps, V);
    const double peak_used = device_used_bytes();
    rwkv5_context_free(pre);
    rwkv5_model_free(model);

    const double roof = bandwidth / double(info.decode_bytes_per_step);
    const double r1 = rate[0] / roof, scale32 = rate[2] / rate[0];
    // fp16: the model must fit a 24 GB card with its CUDA context and the
    // caller's room; int8: a 16 GB card. The int8 floors are decode and memory only.
    const double mem_limit = double((int8 ? 14ull : 22ull) << 30), roof_floor = int8 ? 0.8 : 0.85;
    // Prefill FLOPs per token: every layer matrix once (2 per multiply-add);
    // the head runs for the last token only. Dense fp16 tensor-core peak of
    // sm_90 (H100/H200): 4096 FLOP per clock per SM at the boost clock.
    const double C = info.n_embd, A = info.dim_att, F = info.dim_ffn;
    const double flops_per_token = 2.0 * info.n_layer * (5 * C * A + 2 * C * F + C * C);
    int clock_khz = 0;
    cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0);
    const double peak = prop.major == 9 ? double(prop.multiProcessorCount) * clock_khz * 1e3 * 4096 : 0;
    const double frac512 = peak > 0 ? pre512 * flops_per_token / peak : 0, frac4096 = peak > 0 ? pre4096 * flops_per_token / peak : 0;
    const char *weights = int8 ? "int8" : "fp16";
    std::printf("\n| %s (sm_%d%d, %d SMs), random %d-layer C=%d model, %s weights | value | floor | result |\n", prop.name,
                prop.major, prop.minor, prop.multiProcessorCount, info.n_layer, info.n_embd, weights);
    std::printf("|---|---|---|---|\n");
    std::printf("| device bandwidth (D2D copy, read+write) | %.0f GB/s | | |\n", bandwidth * 1e-9);
    std::printf("| decode roof (bandwidth / %.2f GB per step) | %.1f tok/s | | |\n",
                double(info.decode_bytes_per_step) * 1e-9, roof);
    std::printf("| decode 1 slot, chat sampling in the engine, %s | %.1f tok/s = %.2f of roof | >= %.2f of roof | %s |\n",
                weights, rate[0], r1, roof_floor, verdict(r1 >= roof_floor));
    std::printf("| decode 1 slot, logits copied out instead | %.1f tok/s = %.2f of roof | | |\n", logits_only,
                logits_only / roof);
    std::printf("| decode 8 slots (aggregate) | %.1f tok/s = %.1fx 1-slot | | |\n", rate[1], rate[1] / rate[0]);
    std::printf("| decode 32 slots (aggregate) | %.1f tok/s = %.1fx 1-slot | %s | %s |\n", rate[2], scale32,
                int8 ? "" : ">= 25x", int8 ? "" : verdict(scale32 >= 25.0));
    std::printf("| decode 64 slots (aggregate) | %.1f tok/s = %.1fx 1-slot | | |\n", rate[3], rate[3] / rate[0]);
    std::printf("| decode 128 slots (aggregate) | %.1f tok/s = %.1fx 1-slot | | |\n", rate[4], rate[4] / rate[0]);
    std::printf("| fp16 tensor-core peak (SMs x %d MHz x 4096) | %.0f TFLOPS | | |\n", clock_khz / 1000, peak * 1e-12);
    std::printf("| prefill 512 tokens | %.0f tok/s = %.2f of peak | | |\n", pre512, frac512);
    std::printf("| prefill 4096 tokens | %.0f tok/s = %.2f of peak | %s | %s |\n", pre4096, frac4096,
                int8 ? "" : ">= 0.40 of peak", int8 ? "" : verdict(frac4096 >= 0.4));
    std::printf("| device memory in use, 8 slots (cudaMemGetInfo, CUDA context included) | %.2f GB = %.2f GiB | <= %.0f GiB "
                "| %s |\n",
                mem8 * 1e-9, mem8 / double(1ull << 30), mem_limit / double(1ull << 30), verdict(mem8 <= mem_limit));
    std::printf("| of which the engine (weights, 8 slot states, scratch) | %.2f GB | | |\n", (mem8 - baseline) * 1e-9);
    std::printf("| device memory in use with the 4096-token prefill context | %.2f GB | | |\n",
                peak_used * 1e-9);
    const bool pass = r1 >= roof_floor && mem8 <= mem_limit && (int8 || (scale32 >= 25.0 && frac4096 >= 0.4));
    std::printf("\nbench_cuda: %s\n", pass ? "all floors met" : "FLOOR MISSED");
    return pass ? 0 : 3;
}
