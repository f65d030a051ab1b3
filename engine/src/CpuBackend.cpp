// The CPU forward pass (RWKV5.md §5/§6) over a whole batch at once: every
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
#include "Model.h"
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

// out = a*mix + prev*(1-mix), RWKV5.md §5 token shift.
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
    }
}

struct MatJob {
    const cpu::MatView *w;
    const float *x;  // [T, w.cols]
    float *y;        // [T, ldy]
    int64_t ldy;
};

class CpuBackend final : public Backend {
public:
    CpuBackend(const Model &m, int32_t n_slots, int32_t n_threads, int32_t max_tokens)
        : m_(m), kern_(cpu::host_kernels()), pool_(n_threads) {
        const rwkv5_model_info &in = m.info();
        C_ = in.n_embd;
        A_ = in.dim_att;
        F_ = in.dim_ffn;
        V_ = in.n_vocab;
        H_ = in.n_head;
        N_ = in.head_size;
        L_ = in.n_layer;
        T_ = max_tokens;
        layer_floats_ = 2 * C_ + H_ * N_ * N_;
        state_floats_ = L_ * layer_floats_;
        states_ = AlignedBuffer(size_t(n_slots) * size_t(state_floats_) * 4);
        std::memset(states_.data(), 0, states_.size());
        const int64_t CA = std::max(C_, A_);
        auto rows = [&](int64_t width) { return AlignedBuffer(size_t(T_) * size_t(width) * 4); };
        x_ = rows(C_);
        a_ = rows(C_);
        for (AlignedBuffer &b : mix_) b = rows(C_);
        r_ = rows(CA);
        k_ = rows(A_);
        v_ = rows(A_);
        g_ = rows(A_);
        o_ = rows(A_);
        out_ = rows(C_);
        fk_ = rows(F_);
        item_begin_.resize(size_t(n_slots) + 1);
        row_item_.resize(size_t(T_));
        head_row_.resize(size_t(T_));
        chunks_.reserve(1024);
    }

    void get_state(int32_t slot, float *dst) const override {
        std::memcpy(dst, state(slot), size_t(state_floats_) * 4);
    }

    void set_state(int32_t slot, const float *src) override {
        if (src) {
            std::memcpy(state(slot), src, size_t(state_floats_) * 4);
        } else {
            std::memset(state(slot), 0, size_t(state_floats_) * 4);
        }
    }

    void decode(const rwkv5_batch_item *items, int32_t n_items, const int64_t *row_offset, float *logits) override {
        items_ = items;
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

        rows(T, C_, [&](int64_t t) {
            const rwkv5_batch_item &it = items[row_item_[size_t(t)]];
            embedding_row(m_.emb(), it.tokens[t - item_begin_[size_t(row_item_[size_t(t)])]], x + t * C_);
        });
        for (int64_t l = 0; l < L_; ++l) {
            const LayerWeights &w = m_.layers()[size_t(l)];
            // ---- time mixing ----
            rows(T, C_, [&](int64_t t) {
                layer_norm(x + t * C_, w.ln1_w.data(), w.ln1_b.data(), a + t * C_, C_);
            });
            rows(T, 4 * C_, [&](int64_t t) {
                const float *prev = previous(t, a, l, 0);
                shift_mix(a + t * C_, prev, w.att_mix_r.data(), m0 + t * C_, C_);
                shift_mix(a + t * C_, prev, w.att_mix_k.data(), m1 + t * C_, C_);
                shift_mix(a + t * C_, prev, w.att_mix_v.data(), m2 + t * C_, C_);
                shift_mix(a + t * C_, prev, w.att_mix_g.data(), m3 + t * C_, C_);
            });
            save_last(a, l, 0, n_items);
            matmuls({{&w.att_r, m0, r, A_}, {&w.att_k, m1, k, A_}, {&w.att_v, m2, v, A_}, {&w.att_g, m3, g, A_}}, T);
            pool_.run(int64_t(n_items) * H_, [&](int64_t job) { wkv(w, l, int32_t(job / H_), job % H_, r, k, v, g, o); });
            matmuls({{&w.att_o, o, out, C_}}, T);
            // ---- channel mixing ----
            rows(T, 3 * C_, [&](int64_t t) {
                float *xt = x + t * C_;
                for (int64_t c = 0; c < C_; ++c) xt[c] += out[t * C_ + c];
                layer_norm(xt, w.ln2_w.data(), w.ln2_b.data(), a + t * C_, C_);
            });
            rows(T, 2 * C_, [&](int64_t t) {
                const float *prev = previous(t, a, l, C_ + H_ * N_ * N_);
                shift_mix(a + t * C_, prev, w.ffn_mix_k.data(), m0 + t * C_, C_);
                shift_mix(a + t * C_, prev, w.ffn_mix_r.data(), m1 + t * C_, C_);
            });
            save_last(a, l, C_ + H_ * N_ * N_, n_items);
            matmuls({{&w.ffn_k, m0, fk, F_}, {&w.ffn_r, m1, r, C_}}, T);
            rows(T, F_, [&](int64_t t) {
                float *f = fk + t * F_;
                for (int64_t i = 0; i < F_; ++i) {
                    const float z = std::max(f[i], 0.0f);
                    f[i] = z * z;
                }
            });
            matmuls({{&w.ffn_v, fk, out, C_}}, T);
            rows(T, 2 * C_, [&](int64_t t) {
                float *xt = x + t * C_;
                for (int64_t c = 0; c < C_; ++c) xt[c] += sigmoid(r[t * C_ + c]) * out[t * C_ + c];
            });
        }
        // ---- head, only for the rows whose logits were asked for ----
        int64_t n_head = 0;
        for (int32_t i = 0; i < n_items; ++i) {
            if (items[i].logits == RWKV5_LOGITS_NONE) continue;
            const int64_t first = items[i].logits == RWKV5_LOGITS_ALL ? item_begin_[size_t(i)]
                                                                      : item_begin_[size_t(i) + 1] - 1;
            for (int64_t t = first; t < item_begin_[size_t(i) + 1]; ++t) head_row_[size_t(row_offset[i] + t - first)] = t;
            n_head = std::max(n_head, row_offset[i] + item_begin_[size_t(i) + 1] - first);
        }
        if (n_head == 0) return;
        rows(n_head, C_, [&](int64_t j) {
            layer_norm(x + head_row_[size_t(j)] * C_, m_.ln_out_w().data(), m_.ln_out_b().data(), m0 + j * C_, C_);
        });
        matmuls({{&m_.head(), m0, logits, V_}}, n_head);
    }

private:
    float *state(int32_t slot) const { return states_.as<float>() + int64_t(slot) * state_floats_; }

    // The token-shift input of row t: the previous row of the same item, or
    // the slot's saved LayerNorm output (at `part` inside layer l).
    const float *previous(int64_t t, const float *rows_, int64_t l, int64_t part) const {
        const int32_t i = row_item_[size_t(t)];
        if (t > item_begin_[size_t(i)]) return rows_ + (t - 1) * C_;
        return state(items_[i].slot) + l * layer_floats_ + part;
    }

    void save_last(const float *rows_, int64_t l, int64_t part, int32_t n_items) {
        for (int32_t i = 0; i < n_items; ++i)
            std::memcpy(state(items_[i].slot) + l * layer_floats_ + part,
                        rows_ + (item_begin_[size_t(i) + 1] - 1) * C_, size_t(C_) * 4);
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

    // WKV recurrence (RWKV5.md §5) of one head over one item's tokens, then
    // GroupNorm, ln_x and the silu gate into o.
    void wkv(const LayerWeights &w, int64_t l, int32_t item, int64_t h, const float *r, const float *k,
             const float *v, const float *g, float *o) {
        const int64_t N = N_;
        float *S = state(items_[item].slot) + l * layer_floats_ + C_ + h * N * N;
        const float *decay = w.decay.data() + h * N, *bonus = w.bonus.data() + h * N;
        const float *lw = w.lnx_w.data() + h * N, *lb = w.lnx_b.data() + h * N;
        for (int64_t t = item_begin_[size_t(item)]; t < item_begin_[size_t(item) + 1]; ++t) {
            const float *rt = r + t * A_ + h * N, *kt = k + t * A_ + h * N, *vt = v + t * A_ + h * N;
            const float *gt = g + t * A_ + h * N;
            float *ot = o + t * A_ + h * N;
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
    int64_t C_, A_, F_, V_, H_, N_, L_, T_, layer_floats_, state_floats_;
    AlignedBuffer states_;
    AlignedBuffer x_, a_, mix_[4], r_, k_, v_, g_, o_, out_, fk_;
    const rwkv5_batch_item *items_ = nullptr;
    std::vector<int64_t> item_begin_;
    std::vector<int32_t> row_item_;
    std::vector<int64_t> head_row_;  // batch row of each logits row
    struct Chunk {
        int job;
        int64_t r0, r1;
    };
    std::vector<Chunk> chunks_;  // the row chunks of the current matmuls()
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Model &model, int32_t n_slots, int32_t n_threads,
                                          int32_t max_batch_tokens) {
    return std::make_unique<CpuBackend>(model, n_slots, n_threads, max_batch_tokens);
}

}  // namespace rwkv5
