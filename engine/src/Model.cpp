#include "Model.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "Error.h"
#include "ForwardDims.h"
#include "MemoryBudget.h"
#include "ThreadPool.h"
#include "WeightBytes.h"
#include "cpu/half.h"
#include "cpu/quantize.h"
#include "pth/RecordChecksums.h"
#ifdef RWKV5_WITH_CUDA
#include "cuda/cuda.h"
#endif

namespace rwkv5 {

namespace {

// Bytes of source data per progress report / abort check.
constexpr uint64_t kProgressChunk = 32ull << 20;

// Element i of a tensor in the file mapping. A ZIP entry's data need not be
// aligned to its element size (only torch's writer pads it), so it is read
// bytewise: a typed load from a misaligned address is undefined behaviour.
template <class T>
T load_unaligned(const uint8_t *data, uint64_t i) {
    T v;
    std::memcpy(&v, data + i * sizeof(T), sizeof(T));
    return v;
}

float element(const TensorRef &t, uint64_t i) {
    switch (t.dtype) {
        case StorageType::F32: return load_unaligned<float>(t.data, i);
        case StorageType::F16: return f16_to_f32(load_unaligned<uint16_t>(t.data, i));
        case StorageType::BF16: return bf16_to_f32(load_unaligned<uint16_t>(t.data, i));
        case StorageType::F64: return float(load_unaligned<double>(t.data, i));
        default: break;
    }
    throw Error(RWKV5_ERR_INTERNAL, "element(): unsupported dtype reached the weight loader");
}

bool is_float(StorageType t) {
    return t == StorageType::F32 || t == StorageType::F16 || t == StorageType::BF16 || t == StorageType::F64;
}

}  // namespace

// Turns the archive's tensors into the forward pass's weights, reporting
// progress by source bytes.
class WeightLoader {
public:
    // kInPlace: matrices whose file dtype is the one wanted stay in the file
    // mapping (row-major), for a loader that copies them elsewhere anyway.
    // kCpuForward: every matrix is copied into huge-page memory, in the
    // layout the CPU kernels stream fastest (packed when they take it).
    enum class Layout { kInPlace, kCpuForward };

    WeightLoader(Model &m, const rwkv5_model_params &p, Layout layout = Layout::kInPlace)
        : m_(m), precision_(p.weight_type), copy_(layout == Layout::kCpuForward),
          pack_(copy_ && cpu::host_kernels().takes_packed), verify_(p.verify_crc), pool_(p.n_threads),
          cb_(p.progress_callback), user_(p.progress_user_data), checksums_(*m.archive_) {}

    void run() {
        const ModelShape &s = m_.shape_;
        total_ = 0;
        for (const TensorRef &t : m_.archive_->tensors()) total_ += t.nbytes();
        if (total_ == 0) total_ = 1;
        m_.layers_.resize(size_t(s.n_layer));
        prepare_embedding();
        const int64_t C = s.n_embd, A = s.dim_att, F = s.dim_ffn;
        for (int32_t l = 0; l < s.n_layer; ++l) {
            LayerWeights &w = m_.layers_[size_t(l)];
            const std::string b = "blocks." + std::to_string(l) + ".";
            w.ln1_w = vec(b + "ln1.weight", C);
            w.ln1_b = vec(b + "ln1.bias", C);
            w.ln2_w = vec(b + "ln2.weight", C);
            w.ln2_b = vec(b + "ln2.bias", C);
            w.att_mix_k = vec(b + "att.time_mix_k", C);
            w.att_mix_v = vec(b + "att.time_mix_v", C);
            w.att_mix_r = vec(b + "att.time_mix_r", C);
            w.att_mix_g = vec(b + "att.time_mix_g", C);
            w.decay = vec(b + "att.time_decay", A);
            for (float &x : w.decay) x = std::exp(-std::exp(x));
            if (s.time_first) {
                w.bonus = vec(b + "att.time_first", A);
                for (float &x : w.bonus) x = std::exp(x);
            } else {
                w.bonus = vec(b + "att.time_faaaa", A);
            }
            w.lnx_w = vec(b + "att.ln_x.weight", A);
            w.lnx_b = vec(b + "att.ln_x.bias", A);
            w.att_r = matrix(b + "att.receptance.weight", A, C);
            w.att_k = matrix(b + "att.key.weight", A, C);
            w.att_v = matrix(b + "att.value.weight", A, C);
            w.att_g = matrix(b + "att.gate.weight", A, C);
            w.att_o = matrix(b + "att.output.weight", C, A);
            w.ffn_mix_k = vec(b + "ffn.time_mix_k", C);
            w.ffn_mix_r = vec(b + "ffn.time_mix_r", C);
            w.ffn_k = matrix(b + "ffn.key.weight", F, C);
            w.ffn_r = matrix(b + "ffn.receptance.weight", C, C);
            w.ffn_v = matrix(b + "ffn.value.weight", C, F);
        }
        m_.ln_out_w_ = vec("ln_out.weight", C);
        m_.ln_out_b_ = vec("ln_out.bias", C);
        m_.head_ = matrix("head.weight", s.n_vocab, C);
        if (verify_) checksums_.verify_rest(pool_);
        report(1.0f);
    }

private:
    const TensorRef &tensor(const std::string &name, uint64_t numel) {
        const TensorRef *t = m_.archive_->find(name);
        if (!t) throw Error(RWKV5_ERR_MISSING_TENSOR, m_.archive_->path() + ": tensor '" + name + "' is missing");
        if (t->numel != numel)
            throw Error(RWKV5_ERR_BAD_SHAPE, m_.archive_->path() + ": tensor '" + name + "' has " +
                                                 std::to_string(t->numel) + " elements, expected " +
                                                 std::to_string(numel));
        if (!is_float(t->dtype))
            throw Error(RWKV5_ERR_BAD_DTYPE, m_.archive_->path() + ": tensor '" + name + "' has dtype " +
                                                 storage_type_name(t->dtype) + ", expected a float type");
        return *t;
    }

    void report(float fraction) {
        fraction = std::max(fraction, last_);
        last_ = fraction;
        if (cb_ && !cb_(fraction, user_)) throw Error(RWKV5_ERR_ABORTED, "model load aborted by the caller");
    }

    void advance(uint64_t bytes) {
        done_ += bytes;
        // 1 is reported once, at the very end.
        report(std::min(0.999f, float(double(done_) / double(total_))));
    }

    std::vector<float> vec(const std::string &name, uint64_t numel) {
        const TensorRef &t = tensor(name, numel);
        std::vector<float> out(numel);
        for (uint64_t i = 0; i < numel; ++i) out[i] = element(t, i);
        if (verify_) checksums_.tensor_read(t, crc32_update(0, t.data, t.nbytes()));
        advance(t.nbytes());
        return out;
    }

    // Reads every page of an in-place tensor so the load, not the first
    // decode, pays for bringing the file into memory (and checks its CRC-32
    // on the way, which reads every byte instead of one per page).
    void prefault(const TensorRef &t) {
        const uint64_t bytes = t.nbytes();
        constexpr uint64_t kJobBytes = 1ull << 20;
        uint32_t crc = 0;
        for (uint64_t off = 0; off < bytes; off += kProgressChunk) {
            const uint64_t end = std::min(bytes, off + kProgressChunk);
            const int64_t jobs = int64_t((end - off + kJobBytes - 1) / kJobBytes);
            std::vector<uint32_t> crcs(size_t(jobs), 0);
            pool_.run(jobs, [&](int64_t job) {
                const uint64_t begin = off + uint64_t(job) * kJobBytes, stop = std::min(end, begin + kJobBytes);
                if (verify_) {
                    crcs[size_t(job)] = crc32_update(0, t.data + begin, stop - begin);
                    return;
                }
                uint8_t acc = 0;
                for (uint64_t p = begin; p < stop; p += 4096) acc ^= *reinterpret_cast<const volatile uint8_t *>(t.data + p);
                sink_.fetch_xor(acc, std::memory_order_relaxed);
            });
            for (int64_t job = 0; verify_ && job < jobs; ++job) {
                const uint64_t begin = off + uint64_t(job) * kJobBytes;
                crc = crc32_concat(crc, crcs[size_t(job)], std::min(end, begin + kJobBytes) - begin);
            }
            advance(end - off);
        }
        if (verify_) checksums_.tensor_read(t, crc);
    }

    // Converts rows [r0, r1) in chunks, reporting progress after each. Each
    // job checksums its rows just before converting them, while they are in
    // cache: the CRC-32 costs no extra pass over the file.
    template <class RowFn>
    void convert_rows(const TensorRef &t, int64_t rows, RowFn &&row_fn) {
        const uint64_t row_bytes = t.nbytes() / uint64_t(rows);
        const int64_t rows_per_chunk = std::max<int64_t>(1, int64_t(kProgressChunk / std::max<uint64_t>(1, row_bytes)));
        uint32_t crc = 0;
        for (int64_t r0 = 0; r0 < rows; r0 += rows_per_chunk) {
            const int64_t r1 = std::min(rows, r0 + rows_per_chunk);
            const int64_t per_job = std::max<int64_t>(1, (r1 - r0 + 4 * pool_.size() - 1) / (4 * pool_.size()));
            const int64_t jobs = (r1 - r0 + per_job - 1) / per_job;
            std::vector<uint32_t> crcs(size_t(jobs), 0);
            pool_.run(jobs, [&](int64_t job) {
                uint32_t job_crc = 0;
                for (int64_t r = r0 + job * per_job; r < std::min(r1, r0 + (job + 1) * per_job); ++r) {
                    if (verify_) job_crc = crc32_update(job_crc, t.data + uint64_t(r) * row_bytes, row_bytes);
                    row_fn(r);
                }
                crcs[size_t(job)] = job_crc;
            });
            for (int64_t job = 0; verify_ && job < jobs; ++job) {
                const int64_t rows_in_job = std::min(r1, r0 + (job + 1) * per_job) - (r0 + job * per_job);
                crc = crc32_concat(crc, crcs[size_t(job)], uint64_t(rows_in_job) * row_bytes);
            }
            advance(uint64_t(r1 - r0) * row_bytes);
        }
        if (verify_) checksums_.tensor_read(t, crc);
    }

    cpu::MatView matrix(const std::string &name, int64_t rows, int64_t cols) {
        const TensorRef &t = tensor(name, uint64_t(rows) * uint64_t(cols));
        if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols)
            throw Error(RWKV5_ERR_BAD_SHAPE, m_.archive_->path() + ": tensor '" + name + "' must be [" +
                                                 std::to_string(rows) + ", " + std::to_string(cols) + "]");
        if (precision_ == RWKV5_WEIGHTS_INT8) return quantized(t, rows, cols);
        const cpu::WeightType want = weight_type_of(t);
        const bool same = (want == cpu::WeightType::F32 && t.dtype == StorageType::F32) ||
                          (want == cpu::WeightType::BF16 && t.dtype == StorageType::BF16) ||
                          (want == cpu::WeightType::F16 && t.dtype == StorageType::F16);
        if (same && !copy_) {
            prefault(t);
            return cpu::MatView{t.data, want, rows, cols, cols};
        }
        const bool packed = pack_ && cpu::packable(want, rows, cols);
        const size_t esize = cpu::weight_type_size(want), row_bytes = size_t(cols) * esize;
        AlignedBuffer buf(size_t(rows) * row_bytes);
        uint8_t *dst = buf.as<uint8_t>();
        convert_rows(t, rows, [&](int64_t r) {
            const uint8_t *src = t.data + size_t(r) * row_bytes;
            std::vector<uint8_t> converted;
            if (!same) {
                // The row in the wanted type, written in place when the matrix stays row-major.
                converted.resize(packed ? row_bytes : 0);
                uint8_t *out = packed ? converted.data() : dst + size_t(r) * row_bytes;
                for (int64_t c = 0; c < cols; ++c) {
                    const float v = element(t, uint64_t(r * cols + c));
                    switch (want) {
                        case cpu::WeightType::F32: reinterpret_cast<float *>(out)[c] = v; break;
                        case cpu::WeightType::BF16: reinterpret_cast<uint16_t *>(out)[c] = f32_to_bf16(v); break;
                        case cpu::WeightType::F16: reinterpret_cast<uint16_t *>(out)[c] = f32_to_f16(v); break;
                        case cpu::WeightType::I8: break;  // never: weight_type_of() is never I8
                    }
                }
                src = out;
            }
            if (packed) {
                cpu::pack_row(src, want, r, cols, dst);
            } else if (same) {
                std::memcpy(dst + size_t(r) * row_bytes, src, row_bytes);
            }
        });
        m_.archive_->release(t);
        m_.owned_.push_back(std::move(buf));
        return cpu::MatView{m_.owned_.back().data(), want, rows, cols, cols, packed};
    }

    // The int8 copy of a matrix (cpu/quantize.h), packed like the 16-bit
    // path's when the kernels take it; the scales stay row-major.
    cpu::MatView quantized(const TensorRef &t, int64_t rows, int64_t cols) {
        const bool packed = pack_ && cpu::packable(cpu::WeightType::I8, rows, cols);
        const int64_t blocks = cpu::quant_blocks(cols);
        AlignedBuffer q(size_t(rows) * size_t(cols));
        AlignedBuffer scales(size_t(rows) * size_t(blocks) * 4);
        int8_t *dst = q.as<int8_t>();
        float *sc = scales.as<float>();
        convert_rows(t, rows, [&](int64_t r) {
            std::vector<float> row(static_cast<size_t>(cols));
            for (int64_t c = 0; c < cols; ++c) row[size_t(c)] = element(t, uint64_t(r * cols + c));
            if (!packed) return cpu::quantize_row(row.data(), cols, dst + r * cols, sc + r * blocks);
            std::vector<int8_t> qrow(static_cast<size_t>(cols));
            cpu::quantize_row(row.data(), cols, qrow.data(), sc + r * blocks);
            cpu::pack_row(qrow.data(), cpu::WeightType::I8, r, cols, dst);
        });
        m_.archive_->release(t);
        m_.owned_.push_back(std::move(q));
        const void *data = m_.owned_.back().data();
        m_.owned_.push_back(std::move(scales));
        cpu::MatView v{data, cpu::WeightType::I8, rows, cols, cols, packed};
        v.scales = m_.owned_.back().as<float>();
        return v;
    }

    // What a 16-bit path matrix or the embedding keeps: the file's 16-bit type
    // (an fp32 file's becomes bf16), or fp32 on the fp32 path. The int8 path
    // keeps the embedding like the 16-bit path: a lookup reads one row.
    cpu::WeightType weight_type_of(const TensorRef &t) const {
        if (precision_ == RWKV5_WEIGHTS_FP32) return cpu::WeightType::F32;
        return t.dtype == StorageType::F16 ? cpu::WeightType::F16 : cpu::WeightType::BF16;
    }

    // emb[t] <- LayerNorm(emb[t]; ln0) in fp32, rounded once to the storage
    // type (docs/rwkv5.md §4 item 1).
    void prepare_embedding() {
        const ModelShape &s = m_.shape_;
        const int64_t V = s.n_vocab, C = s.n_embd;
        const std::vector<float> g = vec("blocks.0.ln0.weight", uint64_t(C));
        const std::vector<float> b = vec("blocks.0.ln0.bias", uint64_t(C));
        const TensorRef &t = tensor("emb.weight", uint64_t(V) * uint64_t(C));
        const cpu::WeightType want = weight_type_of(t);
        AlignedBuffer buf(size_t(V) * size_t(C) * cpu::weight_type_size(want));
        convert_rows(t, V, [&](int64_t r) {
            std::vector<float> row(static_cast<size_t>(C));
            double sum = 0;
            for (int64_t c = 0; c < C; ++c) sum += row[size_t(c)] = element(t, uint64_t(r * C + c));
            const double mean = sum / double(C);
            double var = 0;
            for (float v : row) var += (v - mean) * (v - mean);
            const float inv = float(1.0 / std::sqrt(var / double(C) + 1e-5));
            const float meanf = float(mean);
            for (int64_t c = 0; c < C; ++c) {
                const float y = (row[size_t(c)] - meanf) * inv * g[size_t(c)] + b[size_t(c)];
                switch (want) {
                    case cpu::WeightType::F32: buf.as<float>()[r * C + c] = y; break;
                    case cpu::WeightType::BF16: buf.as<uint16_t>()[r * C + c] = f32_to_bf16(y); break;
                    case cpu::WeightType::F16: buf.as<uint16_t>()[r * C + c] = f32_to_f16(y); break;
                    case cpu::WeightType::I8: break;  // never: weight_type_of() is never I8
                }
            }
        });
        m_.archive_->release(t);
        m_.owned_.push_back(std::move(buf));
        m_.emb_ = cpu::MatView{m_.owned_.back().data(), want, V, C, C};
    }

    Model &m_;
    rwkv5_weight_type precision_;
    bool copy_, pack_, verify_;
    ThreadPool pool_;
    rwkv5_progress_callback cb_;
    void *user_;
    RecordChecksums checksums_;
    uint64_t total_ = 0, done_ = 0;
    float last_ = 0.0f;
    std::atomic<uint8_t> sink_{0};
};

std::unique_ptr<Model> Model::load(const std::string &path, const rwkv5_model_params &params_in) {
#ifndef RWKV5_WITH_CUDA
    if (params_in.backend == RWKV5_BACKEND_CUDA)
        throw Error(RWKV5_ERR_BACKEND, "the CUDA backend is not available in this build (configure with -DRWKV5_CUDA=ON)");
#endif
    if (params_in.weight_type != RWKV5_WEIGHTS_FP32 && params_in.weight_type != RWKV5_WEIGHTS_16BIT &&
        params_in.weight_type != RWKV5_WEIGHTS_INT8 && params_in.weight_type != RWKV5_WEIGHTS_AUTO)
        throw Error(RWKV5_ERR_INVALID_ARGUMENT, "unknown weight_type " + std::to_string(int(params_in.weight_type)));
    std::unique_ptr<Model> m(new Model());
    m->archive_ = PthArchive::open(path);
    m->shape_ = inspect_model(*m->archive_);
    const std::string id = compute_model_id(*m->archive_);
    // The budget of the memory the weights go to (the device's or the host's),
    // and the weight type it allows, before anything is allocated.
    rwkv5_model_params params = params_in;
    MemoryBudget budget{};
#ifdef RWKV5_WITH_CUDA
    const bool on_device = cuda::selected(params, m->shape_.head_size);
    if (on_device) {
        budget = load_budget(params.memory_budget, cuda::free_memory(params.device));
        params.weight_type = choose_weight_type(path, params.weight_type, budget, [&](rwkv5_weight_type t) {
            return cuda::device_weight_bytes(m->shape_, t == RWKV5_WEIGHTS_INT8);
        });
        const cuda::HostLoad host(params, m->shape_.file_dtype);
        WeightLoader(*m, host.host_params()).run();
        m->device_weights_ = cuda::upload_weights(*m, params.device, host.upload_progress(),
                                                  params.weight_type == RWKV5_WEIGHTS_INT8);
        host.finish();
    } else
#endif
    {
        budget = load_budget(params.memory_budget, host_free_memory());
        params.weight_type = choose_weight_type(path, params.weight_type, budget, [&](rwkv5_weight_type t) {
            return host_weight_bytes(m->shape_, t);
        });
        WeightLoader(*m, params, WeightLoader::Layout::kCpuForward).run();
    }

    const ModelShape &s = m->shape_;
    rwkv5_model_info &info = m->info_;
    info.n_vocab = s.n_vocab;
    info.n_embd = s.n_embd;
    info.n_layer = s.n_layer;
    info.n_head = s.n_head;
    info.head_size = s.head_size;
    info.dim_att = s.dim_att;
    info.dim_ffn = s.dim_ffn;
    info.n_params = s.n_params;
    info.file_dtype = s.file_dtype;
    info.weight_type = params.weight_type;
    info.backend = RWKV5_BACKEND_CPU;
    info.state_size = uint64_t(ForwardDims(info).slot_floats) * 4;
    uint64_t per_step = 0, vectors = 0;
    for (const LayerWeights &w : m->layers_) {
        for (const cpu::MatView *v : {&w.att_r, &w.att_k, &w.att_v, &w.att_g, &w.att_o, &w.ffn_k, &w.ffn_r, &w.ffn_v})
            per_step += cpu::matrix_bytes(*v);
        for (const std::vector<float> *v : {&w.ln1_w, &w.ln1_b, &w.ln2_w, &w.ln2_b, &w.att_mix_k, &w.att_mix_v,
                                            &w.att_mix_r, &w.att_mix_g, &w.decay, &w.bonus, &w.lnx_w, &w.lnx_b,
                                            &w.ffn_mix_k, &w.ffn_mix_r})
            vectors += v->size() * 4;
    }
    per_step += cpu::matrix_bytes(m->head_);
    info.weight_bytes = per_step + cpu::matrix_bytes(m->emb_) + vectors + 8ull * uint64_t(s.n_embd);
    info.decode_bytes_per_step = per_step + uint64_t(s.n_embd) * cpu::weight_type_size(m->emb_.type);
    info.memory_budget = budget.source.empty() ? 0 : budget.bytes;  // 0: nothing measured, no limit
    std::snprintf(info.model_id, sizeof info.model_id, "%s", id.c_str());
#ifdef RWKV5_WITH_CUDA
    if (m->device_weights_) cuda::describe(*m, info);
#endif
    return m;
}

}  // namespace rwkv5
