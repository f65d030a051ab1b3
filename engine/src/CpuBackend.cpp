// The CPU forward pass (docs/rwkv5.md §5/§6) over a whole batch at once: every
// projection is one matrix product over all T rows of the batch, so each
// weight is read once per step; token shift and the WKV recurrence follow
// each item's own tokens and slot state.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "AlignedBuffer.h"
#include "Backend.h"
#include "MemoryBudget.h"
#include "ForwardDims.h"
#include "Model.h"
#include "Sampler.h"
#include "ThreadPool.h"
#include "cpu/half.h"
#include "cpu/kernels.h"

namespace rwkv5 {
namespace {

constexpr float kLayerNormEps = 1e-5f;
constexpr double kGroupNormEps = 64e-5;
// Elementwise work below this many floats runs on the calling thread: waking
// the pool costs more than it saves.
constexpr int64_t kInlineWork = 1 << 15;
// Smallest matrix chunk handed to a thread: a few microseconds of streaming,
// long against the cost of claiming it.
constexpr int64_t kMinChunkBytes = 128 << 10;

void layer_norm(const float *x, const float *g, const float *b, float *y, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    const double mean = sum / double(n);
    double var = 0;
    for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    const float inv = float(1.0 / std::sqrt(var / double(n) + double(kLayerNormEps)));
    const float m = float(mean);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * inv * g[i] + b[i];
}

inline float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

// out = a*mix + prev*(1-mix), docs/rwkv5.md §5 token shift.
inline void shift_mix(const float *a, const float *prev, const float *mix, float *out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] * mix[i] + prev[i] * (1.0f - mix[i]);
}

void embedding_row(const cpu::MatView &emb, int64_t token, float *out) {
    const int64_t C = emb.cols;
    switch (emb.type) {
        case cpu::WeightType::F32:
            std::memcpy(out, static_cast<const float *>(emb.data) + token * emb.stride, size_t(C) * 4);
            break;
        case cpu::WeightType::BF16: {
            const uint16_t *p = static_cast<const uint16_t *>(emb.data) + token * emb.stride;
            for (int64_t c = 0; c < C; ++c) out[c] = bf16_to_f32(p[c]);
            break;
        }
        case cpu::WeightType::F16: {
            const uint16_t *p = static_cast<const uint16_t *>(emb.data) + token * emb.stride;
            for (int64_t c = 0; c < C; ++c) out[c] = f16_to_f32(p[c]);
            break;
        }
        case cpu::WeightType::I8: break;  // never: the int8 path keeps the embedding in 16 bits
    }
}

struct MatJob {
    const cpu::MatView *w;
    const float *x;  // [T, w.cols]
    float *y;        // [T, ldy]
    int64_t ldy;
};

// Floats a batch token takes in each activation buffer of CpuBackend, by member.
struct RowWidths {
    int64_t x, a, mix, r, k, v, g, o, out, fk;
    int64_t total() const { return x + a + 4 * mix + r + k + v + g + o + out + fk; }
};

RowWidths row_widths(const ForwardDims &d) {
    const int64_t CA = std::max(d.C, d.A);
    return {d.C, d.C, d.C, CA, d.A, d.A, d.A, d.A, d.C, d.F};
}

class CpuBackend final : public Backend {
public:
    CpuBackend(const Model &m, int32_t n_slots, int32_t n_threads, int32_t max_tokens)
        : m_(m), kern_(cpu::host_kernels()), pool_(n_threads), d_(m.info()), T_(max_tokens) {
        states_ = AlignedBuffer(size_t(n_slots) * size_t(d_.slot_floats) * 4);
        std::memset(states_.data(), 0, states_.size());
        const RowWidths w = row_widths(d_);
        auto rows = [&](int64_t width) { return AlignedBuffer(size_t(T_) * size_t(width) * 4); };
        x_ = rows(w.x);
        a_ = rows(w.a);
        for (AlignedBuffer &b : mix_) b = rows(w.mix);
        r_ = rows(w.r);
        k_ = rows(w.k);
        v_ = rows(w.v);
        g_ = rows(w.g);
        o_ = rows(w.o);
        out_ = rows(w.out);
        fk_ = rows(w.fk);
        counts_.resize(size_t(n_slots));
        sampled_.reserve(size_t(n_slots));
        samplers_.reserve(size_t(pool_.size()));
        for (int i = 0; i < pool_.size(); ++i) samplers_.emplace_back(int32_t(d_.V));
        item_begin_.resize(size_t(n_slots) + 1);
        row_item_.resize(size_t(T_));
        head_row_.resize(size_t(T_));
        chunks_.reserve(1024);
    }

    void get_state(int32_t slot, float *dst) const override {
        std::memcpy(dst, state(slot), size_t(d_.slot_floats) * 4);
    }

    void set_state(int32_t slot, const float *src) override {
        counts_[size_t(slot)].clear();
        if (src) {
            std::memcpy(state(slot), src, size_t(d_.slot_floats) * 4);
        } else {
            std::memset(state(slot), 0, size_t(d_.slot_floats) * 4);
        }
    }

    void sample(const float *logits, int32_t n_rows, const int32_t *slots, const rwkv5_sampling_params *params,
                int32_t *tokens) override {
        sample_rows(n_rows, [&](int32_t i, HostSampler &sampler) {
            tokens[i] = sampler.sample(logits + int64_t(i) * d_.V, params[i], counts_[size_t(slots[i])]);
        });
    }

    void decode(const rwkv5_batch_item *items, int32_t n_items, const int64_t *row_offset, float *logits,
                int32_t *tokens) override {
        items_ = items;
        const int64_t C = d_.C, A = d_.A, F = d_.F, H = d_.H;
        int64_t T = 0;
        for (int32_t i = 0; i < n_items; ++i) {
            item_begin_[size_t(i)] = T;
            for (int32_t j = 0; j < items[i].n_tokens; ++j) row_item_[size_t(T + j)] = i;
            T += items[i].n_tokens;
        }
        item_begin_[size_t(n_items)] = T;
        float *x = x_.as<float>(), *a = a_.as<float>();
        float *m0 = mix_[0].as<float>(), *m1 = mix_[1].as<float>(), *m2 = mix_[2].as<float>(),
              *m3 = mix_[3].as<float>();
        float *r = r_.as<float>(), *k = k_.as<float>(), *v = v_.as<float>(), *g = g_.as<float>();
        float *o = o_.as<float>(), *out = out_.as<float>(), *fk = fk_.as<float>();

        rows(T, C, [&](int64_t t) {
            const rwkv5_batch_item &it = items[row_item_[size_t(t)]];
            embedding_row(m_.emb(), it.tokens[t - item_begin_[size_t(row_item_[size_t(t)])]], x + t * C);
        });
        for (int64_t l = 0; l < d_.L; ++l) {
            const LayerWeights &w = m_.layers()[size_t(l)];
            // ---- time mixing ----
            rows(T, C, [&](int64_t t) {
                layer_norm(x + t * C, w.ln1_w.data(), w.ln1_b.data(), a + t * C, C);
            });
            rows(T, 4 * C, [&](int64_t t) {
                const float *prev = previous(t, a, l, 0);
                shift_mix(a + t * C, prev, w.att_mix_r.data(), m0 + t * C, C);
                shift_mix(a + t * C, prev, w.att_mix_k.data(), m1 + t * C, C);
                shift_mix(a + t * C, prev, w.att_mix_v.data(), m2 + t * C, C);
                shift_mix(a + t * C, prev, w.att_mix_g.data(), m3 + t * C, C);
            });
            save_last(a, l, 0, n_items);
            matmuls({{&w.att_r, m0, r, A}, {&w.att_k, m1, k, A}, {&w.att_v, m2, v, A}, {&w.att_g, m3, g, A}}, T);
            pool_.run(int64_t(n_items) * H, [&](int64_t job) { wkv(w, l, int32_t(job / H), job % H, r, k, v, g, o); });
            matmuls({{&w.att_o, o, out, C}}, T);
            // ---- channel mixing ----
            rows(T, 3 * C, [&](int64_t t) {
                float *xt = x + t * C;
                for (int64_t c = 0; c < C; ++c) xt[c] += out[t * C + c];
                layer_norm(xt, w.ln2_w.data(), w.ln2_b.data(), a + t * C, C);
            });
            rows(T, 2 * C, [&](int64_t t) {
                const float *prev = previous(t, a, l, d_.ffn_part);
                shift_mix(a + t * C, prev, w.ffn_mix_k.data(), m0 + t * C, C);
                shift_mix(a + t * C, prev, w.ffn_mix_r.data(), m1 + t * C, C);
            });
            save_last(a, l, d_.ffn_part, n_items);
            matmuls({{&w.ffn_k, m0, fk, F}, {&w.ffn_r, m1, r, C}}, T);
            rows(T, F, [&](int64_t t) {
                float *f = fk + t * F;
                for (int64_t i = 0; i < F; ++i) {
                    const float z = std::max(f[i], 0.0f);
                    f[i] = z * z;
                }
            });
            matmuls({{&w.ffn_v, fk, out, C}}, T);
            rows(T, 2 * C, [&](int64_t t) {
                float *xt = x + t * C;
                for (int64_t c = 0; c < C; ++c) xt[c] += sigmoid(r[t * C + c]) * out[t * C + c];
            });
        }
        // ---- head, only for the rows whose logits were asked for or are sampled ----
        int64_t n_head = 0;
        for (int32_t i = 0; i < n_items; ++i) {
            const int32_t n = head_rows(items[i]);
            const int64_t first = item_begin_[size_t(i) + 1] - n;
            for (int64_t t = first; t < item_begin_[size_t(i) + 1]; ++t) head_row_[size_t(row_offset[i] + t - first)] = t;
            if (n > 0) n_head = std::max(n_head, row_offset[i] + n);
        }
        if (n_head == 0) return;
        rows(n_head, C, [&](int64_t j) {
            layer_norm(x + head_row_[size_t(j)] * C, m_.ln_out_w().data(), m_.ln_out_b().data(), m0 + j * C, C);
        });
        matmuls({{&m_.head(), m0, logits, d_.V}}, n_head);
        // ---- sampling, from each sampling item's last row ----
        sampled_.clear();
        for (int32_t i = 0; i < n_items; ++i)
            if (items[i].sampling) sampled_.push_back(i);
        sample_rows(int32_t(sampled_.size()), [&](int32_t j, HostSampler &sampler) {
            const int32_t i = sampled_[size_t(j)];
            const float *row = logits + (row_offset[i] + head_rows(items[i]) - 1) * d_.V;
            tokens[i] = sampler.sample(row, *items[i].sampling, counts_[size_t(items[i].slot)]);
        });
    }

private:
    // fn(row, sampler) for every row in [0, n), each job with its own scratch.
    template <class F>
    void sample_rows(int32_t n, F &&fn) {
        const int64_t jobs = std::min<int64_t>(n, int64_t(samplers_.size()));
        if (jobs == 0) return;
        pool_.run(jobs, [&](int64_t j) {
            for (int64_t r = j; r < n; r += jobs) fn(int32_t(r), samplers_[size_t(j)]);
        });
    }

    float *state(int32_t slot) const { return states_.as<float>() + int64_t(slot) * d_.slot_floats; }

    // The token-shift input of row t: the previous row of the same item, or
    // the slot's saved LayerNorm output (at `part` inside layer l).
    const float *previous(int64_t t, const float *rows_, int64_t l, int64_t part) const {
        const int32_t i = row_item_[size_t(t)];
        if (t > item_begin_[size_t(i)]) return rows_ + (t - 1) * d_.C;
        return state(items_[i].slot) + l * d_.layer_floats + part;
    }

    void save_last(const float *rows_, int64_t l, int64_t part, int32_t n_items) {
        for (int32_t i = 0; i < n_items; ++i)
            std::memcpy(state(items_[i].slot) + l * d_.layer_floats + part,
                        rows_ + (item_begin_[size_t(i) + 1] - 1) * d_.C, size_t(d_.C) * 4);
    }

    template <class F>
    void rows(int64_t n, int64_t cost, F &&fn) {
        if (n * cost < kInlineWork || pool_.size() == 1) {
            for (int64_t t = 0; t < n; ++t) fn(t);
            return;
        }
        const int64_t jobs = std::min<int64_t>(n, 4 * pool_.size());
        pool_.run(jobs, [&](int64_t j) {
            for (int64_t t = n * j / jobs; t < n * (j + 1) / jobs; ++t) fn(t);
        });
    }

    // All products of one region in one pool dispatch, split into row chunks.
    void matmuls(std::initializer_list<MatJob> list, int64_t T) {
        const MatJob *jobs = list.begin();
        const int n = int(list.size());
        int64_t left = 0;
        for (int i = 0; i < n; ++i) left += jobs[i].w->rows;
        // Guided self-scheduling: large chunks first, shrinking as the work
        // runs out, so the threads finish together; whole packed row groups.
        const int64_t parts = 2 * pool_.size();
        auto groups = [](int64_t rows) { return (rows + cpu::kPackRows - 1) / cpu::kPackRows * cpu::kPackRows; };
        chunks_.clear();
        for (int i = 0; i < n; ++i) {
            const cpu::MatView &w = *jobs[i].w;
            const int64_t min_rows =
                groups(std::max<int64_t>(1, kMinChunkBytes / (w.cols * int64_t(cpu::weight_type_size(w.type)))));
            for (int64_t r = 0; r < w.rows;) {
                const int64_t rows = std::min(w.rows - r, groups(std::max(min_rows, left / parts)));
                chunks_.push_back({i, r, r + rows});
                r += rows;
                left -= rows;
            }
        }
        pool_.run(int64_t(chunks_.size()), [&](int64_t c) {
            const Chunk &ch = chunks_[size_t(c)];
            const MatJob &j = jobs[ch.job];
            kern_.matmul(*j.w, j.x, j.w->cols, T, j.y, j.ldy, ch.r0, ch.r1);
        });
    }

    // WKV recurrence (docs/rwkv5.md §5) of one head over one item's tokens, then
    // GroupNorm, ln_x and the silu gate into o.
    void wkv(const LayerWeights &w, int64_t l, int32_t item, int64_t h, const float *r, const float *k,
             const float *v, const float *g, float *o) {
        const int64_t N = d_.N;
        float *S = state(items_[item].slot) + l * d_.layer_floats + d_.C + h * N * N;
        const float *decay = w.decay.data() + h * N, *bonus = w.bonus.data() + h * N;
        const float *lw = w.lnx_w.data() + h * N, *lb = w.lnx_b.data() + h * N;
        for (int64_t t = item_begin_[size_t(item)]; t < item_begin_[size_t(item) + 1]; ++t) {
            const float *rt = r + t * d_.A + h * N, *kt = k + t * d_.A + h * N, *vt = v + t * d_.A + h * N;
            const float *gt = g + t * d_.A + h * N;
            float *ot = o + t * d_.A + h * N;
            kern_.wkv(rt, kt, vt, bonus, decay, S, ot, N);
            double sum = 0;
            for (int64_t j = 0; j < N; ++j) sum += ot[j];
            const double mean = sum / double(N);
            double var = 0;
            for (int64_t j = 0; j < N; ++j) var += (ot[j] - mean) * (ot[j] - mean);
            const float inv = float(1.0 / std::sqrt(var / double(N) + kGroupNormEps));
            const float m = float(mean);
            for (int64_t j = 0; j < N; ++j) {
                const float gn = (ot[j] - m) * inv * lw[j] + lb[j];
                ot[j] = gn * (gt[j] * sigmoid(gt[j]));
            }
        }
    }

    const Model &m_;
    const cpu::Kernels &kern_;
    ThreadPool pool_;
    const ForwardDims d_;
    int64_t T_;
    AlignedBuffer states_;
    AlignedBuffer x_, a_, mix_[4], r_, k_, v_, g_, o_, out_, fk_;
    const rwkv5_batch_item *items_ = nullptr;
    std::vector<int64_t> item_begin_;
    std::vector<int32_t> row_item_;
    std::vector<int64_t> head_row_;  // batch row of each logits row
    std::vector<PenaltyCounts> counts_;  // per slot
    std::vector<HostSampler> samplers_;  // per pool thread
    std::vector<int32_t> sampled_;       // the items of this decode that sample
    struct Chunk {
        int job;
        int64_t r0, r1;
    };
    std::vector<Chunk> chunks_;  // the row chunks of the current matmuls()
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Model &model, int32_t n_slots, int32_t n_threads,
                                          int32_t max_batch_tokens) {
    const ForwardDims d(model.info());
    // A batch: its activations, and its logits (the Context's, at most a row a token).
    const uint64_t batch = uint64_t(max_batch_tokens) * uint64_t(row_widths(d).total() + d.V) * 4;
    require_context_fits(n_slots, uint64_t(d.slot_floats) * 4, batch, host_free_memory());
    return std::make_unique<CpuBackend>(model, n_slots, n_threads, max_batch_tokens);
}

}  // namespace rwkv5
