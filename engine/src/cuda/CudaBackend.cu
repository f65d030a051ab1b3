// The CUDA forward pass: the CPU backend's batched schedule (CpuBackend.cpp)
// with fp16 matrices through cuBLAS (fp32 accumulation and output) or int8
// ones through gemv_q8 (small batches) and slice-wise dequantization (large
// ones), fp32 residual, LayerNorm, WKV state and GroupNorm, and the fp16
// rescale rule.
// All slots' states live on the device. A decode-only step (every item one
// token) is replayed from a CUDA graph captured once per batch size.
#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "DeviceWeights.cuh"
#include "ForwardDims.h"
#include "Model.h"
#include "kernels.cuh"
#include "sampling.cuh"

namespace rwkv5::cuda {

namespace {

constexpr size_t kCublasWorkspace = 32u << 20;
// fp16 slice of an int8 matrix for a product with more than kGemvQ8MaxRows
// rows: bounded, so the int8 path never holds an fp16 copy of a whole matrix
// (the 12B head alone would take 671 MB).
constexpr size_t kDequantBytes = 64u << 20;
// Logits rows per head product: bounds the device logits buffer.
constexpr int64_t kHeadChunk = 64;

class CudaBackend final : public Backend {
public:
    CudaBackend(const Model &m, int32_t n_slots, int32_t max_tokens)
        : m_(m), w_(*m.device_weights()), n_slots_(n_slots), T_(max_tokens), d_(m.info()) {
        emb_row_bytes_ = size_t(d_.C) * cpu::weight_type_size(m.emb().type);
        use_device();
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        check(cublasCreate(&blas_), "cublasCreate");
        check(cublasSetStream(blas_, stream_), "cublasSetStream");
        workspace_ = DeviceBuffer(kCublasWorkspace);
        if (w_.int8) dequant_ = DeviceBuffer(kDequantBytes);
        check(cublasSetWorkspace(blas_, workspace_.as<void>(), kCublasWorkspace), "cublasSetWorkspace");

        states_ = DeviceBuffer(size_t(n_slots) * size_t(d_.slot_floats) * 4);
        check(cudaMemsetAsync(states_.as<void>(), 0, states_.size(), stream_), "state reset");
        const size_t T = size_t(T_);
        meta_ints_ = 2 * T + 2 * size_t(n_slots) + 1;
        meta_host_ = PinnedBuffer(meta_ints_ * 4);
        meta_dev_ = DeviceBuffer(meta_ints_ * 4);
        emb_host_ = PinnedBuffer(T * emb_row_bytes_);
        emb_dev_ = DeviceBuffer(T * emb_row_bytes_);
        x_ = DeviceBuffer(T * size_t(d_.C) * 4);
        a_ = DeviceBuffer(T * size_t(d_.C) * 4);
        prev0_ = DeviceBuffer(size_t(n_slots) * size_t(d_.C) * 4);
        mix_ = DeviceBuffer(4 * T * size_t(d_.C) * 2);
        rkvg_ = DeviceBuffer(4 * T * size_t(d_.A) * 4);
        og_ = DeviceBuffer(T * size_t(d_.A) * 2);
        out_ = DeviceBuffer(T * size_t(d_.C) * 4);
        fr_ = DeviceBuffer(T * size_t(d_.C) * 4);
        fk_ = DeviceBuffer(T * size_t(d_.F) * 4);
        fk16_ = DeviceBuffer(T * size_t(d_.F) * 2);
        const size_t head_rows = size_t(std::min<int64_t>(T_, kHeadChunk));
        head_in_ = DeviceBuffer(head_rows * size_t(d_.C) * 2);
        logits_ = DeviceBuffer(head_rows * size_t(d_.V) * 4);
        sampler_ = std::make_unique<DeviceSampler>(n_slots, n_slots, d_.V, stream_);
        check(cudaStreamSynchronize(stream_), "context setup");

        int32_t *md = meta_dev_.as<int32_t>();
        meta_ = BatchMeta{md, md + T, md + T + n_slots, md + T + 2 * size_t(n_slots) + 1};
        st_ = StateView{states_.as<float>(), d_.slot_floats, d_.layer_floats};
    }

    ~CudaBackend() override {
        cudaSetDevice(w_.device);
        cudaStreamSynchronize(stream_);
        for (auto &g : graphs_) cudaGraphExecDestroy(g.second);
        cublasDestroy(blas_);
        cudaStreamDestroy(stream_);
    }

    void get_state(int32_t slot, float *dst) const override {
        use_device();
        check(cudaMemcpyAsync(dst, slot_state(slot), size_t(d_.slot_floats) * 4, cudaMemcpyDeviceToHost, stream_),
              "state export");
        check(cudaStreamSynchronize(stream_), "state export");
    }

    void set_state(int32_t slot, const float *src) override {
        use_device();
        sampler_->clear_slot(slot);
        if (src) {
            check(cudaMemcpyAsync(slot_state(slot), src, size_t(d_.slot_floats) * 4, cudaMemcpyHostToDevice, stream_),
                  "state import");
        } else {
            check(cudaMemsetAsync(slot_state(slot), 0, size_t(d_.slot_floats) * 4, stream_), "state reset");
        }
        check(cudaStreamSynchronize(stream_), "state import");
    }

    void decode(const rwkv5_batch_item *items, int32_t n_items, const int64_t *row_offset, float *logits,
                int32_t *tokens) override {
        use_device();
        const int64_t T = stage_batch(items, n_items, row_offset);
        sampler_->upload();
        if (T == n_items) {
            launch_graph(n_items);
        } else {
            forward(T, n_items);
        }
        for (int64_t j0 = 0; j0 < n_head_; j0 += kHeadChunk) {
            const int64_t rows = std::min(kHeadChunk, n_head_ - j0);
            BatchMeta meta = meta_;
            meta.head_rows += j0;
            head_norm(x_.as<float>(), out_.as<float>(), fr_.as<float>(), residual_scale(d_.L), w_.ln_out_w, w_.ln_out_b,
                      head_in_.as<__half>(), rows, d_.C, meta, stream_);
            gemm(w_.head, d_.V, d_.C, head_in_.as<__half>(), logits_.as<float>(), rows);
            // Logits leave the device only for the items that asked for them.
            for (int32_t i = 0; i < n_items; ++i) {
                if (items[i].logits == RWKV5_LOGITS_NONE) continue;
                const int64_t lo = std::max(j0, row_offset[i]), hi = std::min(j0 + rows, row_offset[i] + head_rows(items[i]));
                if (lo >= hi) continue;
                check(cudaMemcpyAsync(logits + lo * d_.V, logits_.as<float>() + (lo - j0) * d_.V,
                                      size_t(hi - lo) * size_t(d_.V) * 4, cudaMemcpyDeviceToHost, stream_),
                      "logits copy");
            }
            sampler_->gather(logits_.as<float>(), j0, rows);
        }
        sampler_->run();
        check(cudaStreamSynchronize(stream_), "decode");
        int32_t k = 0;
        for (int32_t i = 0; i < n_items; ++i)
            if (items[i].sampling) tokens[i] = sampler_->tokens()[k++];
    }

    void sample(const float *logits, int32_t n_rows, const int32_t *slots, const rwkv5_sampling_params *params,
                int32_t *tokens) override {
        use_device();
        sampler_->clear_rows();
        for (int32_t i = 0; i < n_rows; ++i) sampler_->add_row(slots[i], params[i], -1);
        sampler_->upload();
        check(cudaMemcpyAsync(sampler_->work_row(0), logits, size_t(n_rows) * size_t(d_.V) * 4, cudaMemcpyHostToDevice,
                              stream_),
              "logits upload");
        sampler_->run();
        check(cudaStreamSynchronize(stream_), "sample");
        std::memcpy(tokens, sampler_->tokens(), size_t(n_rows) * 4);
    }

private:
    void use_device() const { check(cudaSetDevice(w_.device), "cudaSetDevice"); }

    float *slot_state(int32_t slot) const { return states_.as<float>() + int64_t(slot) * d_.slot_floats; }

    // The residual is halved after every kRescaleLayer-th layer: applied when
    // layer l (or the head, l = L) adds the previous layer's channel mix.
    static float residual_scale(int64_t l) { return l > 0 && l % kRescaleLayer == 0 ? 0.5f : 1.0f; }

    // Fills the pinned batch description and embedding rows; returns T.
    int64_t stage_batch(const rwkv5_batch_item *items, int32_t n_items, const int64_t *row_offset) {
        int32_t *row_item = meta_host_.as<int32_t>();
        int32_t *item_slot = row_item + T_, *item_begin = item_slot + n_slots_;
        int32_t *head_row = item_begin + n_slots_ + 1;
        const cpu::MatView &emb = m_.emb();
        const uint8_t *emb_data = static_cast<const uint8_t *>(emb.data);
        const size_t stride_bytes = size_t(emb.stride) * cpu::weight_type_size(emb.type);
        int64_t T = 0;
        n_head_ = 0;
        sampler_->clear_rows();
        for (int32_t i = 0; i < n_items; ++i) {
            const rwkv5_batch_item &it = items[i];
            item_slot[i] = it.slot;
            item_begin[i] = int32_t(T);
            for (int32_t j = 0; j < it.n_tokens; ++j) {
                row_item[T + j] = i;
                std::memcpy(emb_host_.as<uint8_t>() + size_t(T + j) * emb_row_bytes_,
                            emb_data + size_t(it.tokens[j]) * stride_bytes, emb_row_bytes_);
            }
            const int32_t n = head_rows(it);
            for (int64_t t = it.n_tokens - n; t < it.n_tokens; ++t)
                head_row[row_offset[i] + t - (it.n_tokens - n)] = int32_t(T + t);
            if (n > 0) n_head_ = std::max(n_head_, row_offset[i] + n);
            if (it.sampling) sampler_->add_row(it.slot, *it.sampling, int32_t(row_offset[i] + n - 1));
            T += it.n_tokens;
        }
        item_begin[n_items] = int32_t(T);
        return T;
    }

    // The first decode-only step of a batch size runs eagerly (it loads every
    // kernel and cuBLAS picks its algorithms outside a capture); the second
    // captures the graph that every later one replays.
    void launch_graph(int32_t n_items) {
        auto found = graphs_.find(n_items);
        if (found == graphs_.end() && eager_once_.insert(n_items).second) {
            forward(n_items, n_items);
            return;
        }
        if (found == graphs_.end()) {
            cudaGraph_t graph = nullptr;
            check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "graph capture");
            try {
                forward(n_items, n_items);
            } catch (...) {
                cudaStreamEndCapture(stream_, &graph);
                if (graph) cudaGraphDestroy(graph);
                throw;
            }
            check(cudaStreamEndCapture(stream_, &graph), "graph capture");
            cudaGraphExec_t exec = nullptr;
            const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
            cudaGraphDestroy(graph);
            check(e, "graph instantiate");
            found = graphs_.emplace(n_items, exec).first;
        }
        check(cudaGraphLaunch(found->second, stream_), "graph launch");
    }

    // Y[b][T, out] = X[b][T, in] · W[b][out, in]^T for b < batch: fp16 or int8
    // weights, fp16 inputs, fp32 accumulation and output; the strides are in
    // elements (weights, not bytes, for int8).
    void gemm(const DeviceMatrix &W, int64_t out, int64_t in, const __half *X, float *Y, int64_t T, int batch = 1,
              int64_t w_stride = 0, int64_t x_stride = 0, int64_t y_stride = 0) {
        if (W.q) {
            const int64_t blocks = cpu::quant_blocks(in), s_stride = w_stride / in * blocks;
            if (T <= kGemvQ8MaxRows && in % 16 == 0) {
                gemv_q8(W.q, W.scales, w_stride, s_stride, X, x_stride, Y, y_stride, out, in, T, batch, stream_);
                return;
            }
            // Enough rows to be bound by arithmetic: tensor cores on fp16 slices of the matrix.
            const int64_t slice = std::max<int64_t>(1, int64_t(kDequantBytes / 2) / in);
            for (int b = 0; b < batch; ++b) {
                for (int64_t r0 = 0; r0 < out; r0 += slice) {
                    const int64_t rows = std::min(slice, out - r0);
                    dequantize(W.q + b * w_stride + r0 * in, W.scales + b * s_stride + r0 * blocks, dequant_.as<__half>(),
                               rows, in, stream_);
                    cublas_gemm(dequant_.as<__half>(), rows, in, X + b * x_stride, Y + b * y_stride + r0, out, T, 1, 0, 0, 0);
                }
            }
            return;
        }
        if (T <= kGemvMaxRows && in % 8 == 0) {
            gemv(W.f16, w_stride, X, x_stride, Y, y_stride, out, in, T, batch, stream_);
            return;
        }
        cublas_gemm(W.f16, out, in, X, Y, out, T, batch, w_stride, x_stride, y_stride);
    }

    // cuBLAS column-major: Y^T[ldy, T] = W^T · X^T over `out` rows of W.
    void cublas_gemm(const __half *W, int64_t out, int64_t in, const __half *X, float *Y, int64_t ldy, int64_t T,
                     int batch, int64_t w_stride, int64_t x_stride, int64_t y_stride) {
        const float one = 1.0f, zero = 0.0f;
        check(cublasGemmStridedBatchedEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(T), int(in), &one, W, CUDA_R_16F,
                                         int(in), w_stride, X, CUDA_R_16F, int(in), x_stride, &zero, Y, CUDA_R_32F,
                                         int(ldy), y_stride, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              "cublasGemmStridedBatchedEx");
    }

    // The whole layer stack for T rows of n_items items; leaves the last
    // layer's channel-mix output in out_/fr_ for the head.
    void forward(int64_t T, int32_t n_items) {
        const int64_t C = d_.C, A = d_.A, F = d_.F, H = d_.H;
        check(cudaMemcpyAsync(meta_dev_.as<void>(), meta_host_.as<void>(), meta_ints_ * 4, cudaMemcpyHostToDevice,
                              stream_),
              "batch upload");
        check(cudaMemcpyAsync(emb_dev_.as<void>(), emb_host_.as<void>(), size_t(T) * emb_row_bytes_,
                              cudaMemcpyHostToDevice, stream_),
              "embedding upload");
        float *x = x_.as<float>(), *a = a_.as<float>(), *prev0 = prev0_.as<float>();
        float *rkvg = rkvg_.as<float>(), *out = out_.as<float>(), *fr = fr_.as<float>(), *fk = fk_.as<float>();
        __half *mix = mix_.as<__half>(), *og = og_.as<__half>(), *fk16 = fk16_.as<__half>();
        const int64_t mix_plane = T_ * C, rkvg_plane = T_ * A;
        const bool decode_only = T == n_items;
        embed(emb_dev_.as<void>(), m_.emb().type, x, T, C, stream_);
        for (int64_t l = 0; l < d_.L; ++l) {
            const DeviceLayer &w = w_.layers[size_t(l)];
            // ---- time mixing ----
            if (decode_only) {
                add_norm_mix(x, l ? out : nullptr, l ? fr : nullptr, residual_scale(l), w.ln1_w, w.ln1_b, w.att_mix, 4,
                             mix, mix_plane, T, C, meta_, st_, l, 0, stream_);
            } else {
                add_layer_norm(x, l ? out : nullptr, l ? fr : nullptr, residual_scale(l), w.ln1_w, w.ln1_b, a, T, C,
                               meta_, st_, l, 0, prev0, stream_);
                shift_mix(a, prev0, w.att_mix, 4, mix, mix_plane, T, C, meta_, st_, l, 0, stream_);
            }
            gemm(w.att_rkvg, A, C, mix, rkvg, T, 4, A * C, mix_plane, rkvg_plane);
            wkv(rkvg, rkvg_plane, w.decay, w.bonus, w.lnx_w, w.lnx_b, og, n_items, H, A, meta_, st_, l, C, stream_);
            gemm(w.att_o, C, A, og, out, T);
            // ---- channel mixing ----
            if (decode_only) {
                add_norm_mix(x, out, nullptr, 1.0f, w.ln2_w, w.ln2_b, w.ffn_mix, 2, mix, mix_plane, T, C, meta_, st_, l,
                             d_.ffn_part, stream_);
            } else {
                add_layer_norm(x, out, nullptr, 1.0f, w.ln2_w, w.ln2_b, a, T, C, meta_, st_, l, d_.ffn_part, prev0,
                               stream_);
                shift_mix(a, prev0, w.ffn_mix, 2, mix, mix_plane, T, C, meta_, st_, l, d_.ffn_part, stream_);
            }
            gemm(w.ffn_k, F, C, mix, fk, T);
            gemm(w.ffn_r, C, C, mix + mix_plane, fr, T);
            relu_square(fk, fk16, T * F, stream_);
            gemm(w.ffn_v, C, F, fk16, out, T);
        }
    }

    const Model &m_;
    const DeviceWeights &w_;
    int32_t n_slots_;
    int64_t T_;
    const ForwardDims d_;
    size_t emb_row_bytes_, meta_ints_ = 0;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    DeviceBuffer workspace_, dequant_, states_, meta_dev_, emb_dev_, x_, a_, prev0_, mix_, rkvg_, og_, out_, fr_, fk_, fk16_,
        head_in_, logits_;
    PinnedBuffer meta_host_, emb_host_;
    BatchMeta meta_{};
    StateView st_{};
    int64_t n_head_ = 0;
    std::unique_ptr<DeviceSampler> sampler_;
    std::unordered_map<int32_t, cudaGraphExec_t> graphs_;
    std::unordered_set<int32_t> eager_once_;
};

}  // namespace

std::unique_ptr<Backend> make_backend(const Model &model, int32_t n_slots, int32_t max_batch_tokens) {
    if (!model.device_weights())
        throw Error(RWKV5_ERR_BACKEND, "the model was not loaded for the CUDA backend");
    return std::make_unique<CudaBackend>(model, n_slots, max_batch_tokens);
}

}  // namespace rwkv5::cuda
