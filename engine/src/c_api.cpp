// The C API (include/rwkv5.h): argument plumbing and the exception boundary.
// No exception ever leaves this file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "AlignedBuffer.h"
#include "Context.h"
#include "Error.h"
#include "Model.h"
#include "ThreadPool.h"
#include "cpu/kernels.h"
#ifdef RWKV5_WITH_CUDA
#include "cuda/cuda.h"
#endif
#include "rwkv5.h"

struct rwkv5_model {
    std::unique_ptr<rwkv5::Model> impl;
};

struct rwkv5_context {
    std::unique_ptr<rwkv5::Context> impl;
};

namespace {

void set_error(rwkv5_error *err, rwkv5_status code, const char *message) {
    if (!err) return;
    err->code = code;
    std::snprintf(err->message, sizeof err->message, "%s", message);
}

// Runs fn, turning every exception into a status (and *err).
template <class F>
rwkv5_status guarded(rwkv5_error *err, F &&fn) {
    try {
        fn();
        set_error(err, RWKV5_OK, "");
        return RWKV5_OK;
    } catch (const rwkv5::Error &e) {
        set_error(err, e.code(), e.what());
        return e.code();
    } catch (const std::bad_alloc &) {
        set_error(err, RWKV5_ERR_OUT_OF_MEMORY, "out of memory");
        return RWKV5_ERR_OUT_OF_MEMORY;
    } catch (const std::exception &e) {
        set_error(err, RWKV5_ERR_INTERNAL, e.what());
        return RWKV5_ERR_INTERNAL;
    } catch (...) {
        set_error(err, RWKV5_ERR_INTERNAL, "unknown exception");
        return RWKV5_ERR_INTERNAL;
    }
}

std::string build_system_info() {
    __builtin_cpu_init();
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "cpu: avx512f=%d avx512bw=%d avx512bf16=%d avx2=%d fma=%d f16c=%d threads=%d kernel=%s",
                  __builtin_cpu_supports("avx512f") ? 1 : 0, __builtin_cpu_supports("avx512bw") ? 1 : 0,
                  __builtin_cpu_supports("avx512bf16") ? 1 : 0, __builtin_cpu_supports("avx2") ? 1 : 0,
                  __builtin_cpu_supports("fma") ? 1 : 0, __builtin_cpu_supports("f16c") ? 1 : 0,
                  rwkv5::hardware_threads(), rwkv5::cpu::host_kernels().name);
#ifdef RWKV5_WITH_CUDA
    return std::string(buf) + "; " + rwkv5::cuda::system_info();
#else
    return std::string(buf) + "; cuda: not built";
#endif
}

}  // namespace

extern "C" {

rwkv5_model_params rwkv5_model_default_params(void) {
    rwkv5_model_params p{};  // a field added later starts at zero
    p.weight_type = RWKV5_WEIGHTS_16BIT;
    p.backend = RWKV5_BACKEND_AUTO;
    p.device = 0;
    p.n_threads = 0;
    p.progress_callback = nullptr;
    p.progress_user_data = nullptr;
    p.verify_crc = true;
    p.memory_budget = 0;
    return p;
}

rwkv5_model *rwkv5_model_load(const char *path, const rwkv5_model_params *params, rwkv5_error *err) {
    rwkv5_model *out = nullptr;
    guarded(err, [&] {
        if (!path) throw rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT, "path is NULL");
        const rwkv5_model_params p = params ? *params : rwkv5_model_default_params();
        auto m = std::make_unique<rwkv5_model>();
        m->impl = rwkv5::Model::load(path, p);
        out = m.release();
    });
    return out;
}

void rwkv5_model_free(rwkv5_model *model) { delete model; }

void rwkv5_model_get_info(const rwkv5_model *model, rwkv5_model_info *out) {
    if (!model || !out) return;
    *out = model->impl->info();
}

rwkv5_context_params rwkv5_context_default_params(void) {
    rwkv5_context_params p;
    p.n_slots = 1;
    p.n_threads = 0;
    p.max_batch_tokens = 512;
    return p;
}

rwkv5_context *rwkv5_context_init(rwkv5_model *model, const rwkv5_context_params *params, rwkv5_error *err) {
    rwkv5_context *out = nullptr;
    guarded(err, [&] {
        if (!model) throw rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT, "model is NULL");
        const rwkv5_context_params p = params ? *params : rwkv5_context_default_params();
        auto c = std::make_unique<rwkv5_context>();
        c->impl = std::make_unique<rwkv5::Context>(*model->impl, p);
        out = c.release();
    });
    return out;
}

void rwkv5_context_free(rwkv5_context *ctx) { delete ctx; }

size_t rwkv5_state_size(const rwkv5_context *ctx) { return ctx ? ctx->impl->state_size() : 0; }

int32_t rwkv5_n_slots(const rwkv5_context *ctx) { return ctx ? ctx->impl->n_slots() : 0; }

rwkv5_status rwkv5_slot_get_state(rwkv5_context *ctx, int32_t slot, float *dst, size_t size, rwkv5_error *err) {
    return guarded(err, [&] {
        if (!ctx) throw rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT, "context is NULL");
        ctx->impl->get_state(slot, dst, size);
    });
}

rwkv5_status rwkv5_slot_set_state(rwkv5_context *ctx, int32_t slot, const float *src, size_t size,
                                  rwkv5_error *err) {
    return guarded(err, [&] {
        if (!ctx) throw rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT, "context is NULL");
        ctx->impl->set_state(slot, src, size);
    });
}

rwkv5_status rwkv5_slot_reset(rwkv5_context *ctx, int32_t slot, rwkv5_error *err) {
    return guarded(err, [&] {
        if (!ctx) throw rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT, "context is NULL");
        ctx->impl->reset(slot);
    });
}

rwkv5_status rwkv5_decode(rwkv5_context *ctx, const rwkv5_batch_item *items, int32_t n_items, rwkv5_error *err) {
    return guarded(err, [&] {
        if (!ctx) throw rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT, "context is NULL");
        ctx->impl->decode(items, n_items);
    });
}

const float *rwkv5_get_logits(const rwkv5_context *ctx, int32_t item, int32_t *n_rows) {
    if (!ctx) {
        if (n_rows) *n_rows = 0;
        return nullptr;
    }
    return ctx->impl->logits(item, n_rows);
}

int32_t rwkv5_get_token(const rwkv5_context *ctx, int32_t item) { return ctx ? ctx->impl->token(item) : -1; }

rwkv5_status rwkv5_sample_logits(rwkv5_context *ctx, const float *logits, int32_t n_rows, const int32_t *slots,
                                 const rwkv5_sampling_params *params, int32_t *tokens, rwkv5_error *err) {
    return guarded(err, [&] {
        if (!ctx) throw rwkv5::Error(RWKV5_ERR_INVALID_ARGUMENT, "context is NULL");
        ctx->impl->sample_logits(logits, n_rows, slots, params, tokens);
    });
}

bool rwkv5_supports_cuda(void) {
#ifdef RWKV5_WITH_CUDA
    return rwkv5::cuda::device_count() > 0;
#else
    return false;
#endif
}

const char *rwkv5_system_info(void) {
    static const std::string info = build_system_info();
    return info.c_str();
}

const char *rwkv5_cpu_kernel(void) { return rwkv5::cpu::host_kernels().name; }

double rwkv5_measure_read_bandwidth(size_t bytes, int32_t n_threads, int32_t reps) {
    try {
        rwkv5::ThreadPool pool(n_threads);
        // Small parts handed out dynamically, like the matrix row chunks.
        const size_t part = 1u << 21;
        const int64_t parts = int64_t(std::max<size_t>(size_t(pool.size()), (bytes + part - 1) / part));
        const size_t total = part * size_t(parts);
        rwkv5::AlignedBuffer buf(total);
        std::memset(buf.data(), 1, total);  // fault the pages in before timing
        const rwkv5::cpu::Kernels &k = rwkv5::cpu::host_kernels();
        std::vector<float> sums(static_cast<size_t>(parts));
        double best = 0;
        for (int32_t r = 0; r < std::max(1, reps); ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            pool.run(parts, [&](int64_t j) { sums[size_t(j)] = k.read_sum(buf.as<uint8_t>() + size_t(j) * part, part); });
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (s > 0) best = std::max(best, double(total) / s);
        }
        volatile float sink = 0;
        for (float v : sums) sink = sink + v;
        return best;
    } catch (...) {
        return 0;
    }
}

}  // extern "C"
