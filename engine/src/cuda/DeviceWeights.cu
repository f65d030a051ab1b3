// Device probe and the weight upload: host matrices (the file's bf16/fp16/fp32,
// see Model.h) are streamed through pinned staging buffers and converted to
// fp16, or quantized to int8, on the device; fp32 vectors are copied as they are.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstring>

#include "DeviceWeights.cuh"
#include "Model.h"
#include "WeightBytes.h"
#include "cpu/kernels.h"

namespace rwkv5::cuda {

namespace {

constexpr size_t kStagingBytes = 64u << 20;

__device__ float source_value(const void *src, cpu::WeightType type, int64_t i) {
    switch (type) {
        case cpu::WeightType::F32: return static_cast<const float *>(src)[i];
        case cpu::WeightType::BF16: return __bfloat162float(static_cast<const __nv_bfloat16 *>(src)[i]);
        default: return __half2float(static_cast<const __half *>(src)[i]);
    }
}

__global__ void to_half_kernel(const void *src, cpu::WeightType type, __half *dst, int64_t n, float scale) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = __float2half_rn(source_value(src, type, i) * scale);
}

// One warp per block of up to kQuantBlock weights of a row (the last block of
// a row may be short), as cpu::quantize_row: scale = max|w| / 127, q =
// round-half-even(w / scale), so both backends hold the same int8 weights
// (the rescale factor is a power of two, exact in the scale). q and scales
// point at the first of `rows` whole rows.
constexpr int kQuantPerLane = int(cpu::kQuantBlock) / 32;
static_assert(cpu::kQuantBlock % 32 == 0, "a quantization block is whole lanes of one warp");
__global__ void to_int8_kernel(const void *src, cpu::WeightType type, int8_t *q, float *scales, int64_t rows,
                               int64_t cols, int64_t per_row, float rescale) {
    const int lane = threadIdx.x & 31;
    const int64_t n_blocks = rows * per_row;
    for (int64_t b = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; b < n_blocks;
         b += (int64_t(gridDim.x) * blockDim.x) >> 5) {
        const int64_t row = b / per_row, c0 = (b % per_row) * cpu::kQuantBlock;
        const int64_t end = min(cols, c0 + cpu::kQuantBlock);
        float v[kQuantPerLane];
        float amax = 0.0f;
#pragma unroll
        for (int j = 0; j < kQuantPerLane; ++j) {
            const int64_t c = c0 + lane * kQuantPerLane + j;
            v[j] = c < end ? source_value(src, type, row * cols + c) * rescale : 0.0f;
            amax = fmaxf(amax, fabsf(v[j]));
        }
        for (int offset = 16; offset > 0; offset >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, offset));
        const float scale = __fdiv_rn(amax, 127.0f);
#pragma unroll
        for (int j = 0; j < kQuantPerLane; ++j) {
            const int64_t c = c0 + lane * kQuantPerLane + j;
            const float r = scale > 0.0f ? rintf(__fdiv_rn(v[j], scale)) : 0.0f;
            if (c < end) q[row * cols + c] = int8_t(fmaxf(-127.0f, fminf(127.0f, r)));
        }
        if (lane == 0) scales[b] = scale;
    }
}

// Where one matrix goes: fp16, or int8 with its scales.
struct Destination {
    __half *f16 = nullptr;
    int8_t *q = nullptr;
    float *scales = nullptr;
};

// Two pinned staging buffers alternate so that the host copy of one chunk
// overlaps the transfer and conversion of the previous one.
class Uploader {
public:
    Uploader(uint64_t total, const std::function<bool(float)> &progress) : total_(total ? total : 1), progress_(progress) {
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        for (int i = 0; i < 2; ++i) {
            host_[i] = PinnedBuffer(kStagingBytes);
            dev_[i] = DeviceBuffer(kStagingBytes);
            check(cudaEventCreateWithFlags(&done_[i], cudaEventDisableTiming), "cudaEventCreate");
        }
    }
    ~Uploader() {
        cudaStreamSynchronize(stream_);
        for (cudaEvent_t e : done_) cudaEventDestroy(e);
        cudaStreamDestroy(stream_);
    }

    // Chunks of whole rows: a row's quantization blocks are never split.
    void matrix(const cpu::MatView &m, const Destination &dst, float scale) {
        if (m.stride != m.cols || m.packed) throw Error(RWKV5_ERR_INTERNAL, "CUDA upload: a strided or packed host matrix");
        const size_t esize = cpu::weight_type_size(m.type);
        const int64_t n = m.rows * m.cols;
        const int64_t per_chunk = std::max<int64_t>(1, int64_t(kStagingBytes / esize) / m.cols) * m.cols;
        for (int64_t e0 = 0; e0 < n; e0 += per_chunk) {
            const int64_t count = std::min(per_chunk, n - e0);
            const int b = next_++ & 1;
            check(cudaEventSynchronize(done_[b]), "staging wait");
            std::memcpy(host_[b].as<uint8_t>(), static_cast<const uint8_t *>(m.data) + size_t(e0) * esize,
                        size_t(count) * esize);
            check(cudaMemcpyAsync(dev_[b].as<void>(), host_[b].as<void>(), size_t(count) * esize,
                                  cudaMemcpyHostToDevice, stream_),
                  "weight upload");
            if (dst.q)
                to_int8_kernel<<<1024, 256, 0, stream_>>>(dev_[b].as<void>(), m.type, dst.q + e0,
                                                          dst.scales + e0 / m.cols * cpu::quant_blocks(m.cols),
                                                          count / m.cols, m.cols, cpu::quant_blocks(m.cols), scale);
            else
                to_half_kernel<<<1024, 256, 0, stream_>>>(dev_[b].as<void>(), m.type, dst.f16 + e0, count, scale);
            check(cudaGetLastError(), "weight conversion");
            check(cudaEventRecord(done_[b], stream_), "cudaEventRecord");
            advance(uint64_t(count) * esize);
        }
    }

    void vector(const std::vector<float> &v, float *dst) {
        check(cudaMemcpyAsync(dst, v.data(), v.size() * 4, cudaMemcpyHostToDevice, stream_), "vector upload");
        check(cudaStreamSynchronize(stream_), "vector upload");
        advance(v.size() * 4);
    }

    void finish() { check(cudaStreamSynchronize(stream_), "weight upload"); }

private:
    void advance(uint64_t bytes) {
        done_bytes_ += bytes;
        if (progress_ && !progress_(std::min(0.999f, float(double(done_bytes_) / double(total_)))))
            throw Error(RWKV5_ERR_ABORTED, "model load aborted by the caller");
    }

    uint64_t total_, done_bytes_ = 0;
    const std::function<bool(float)> &progress_;
    cudaStream_t stream_ = nullptr;
    PinnedBuffer host_[2];
    DeviceBuffer dev_[2];
    cudaEvent_t done_[2] = {nullptr, nullptr};
    unsigned next_ = 0;
};

uint64_t elements(const cpu::MatView &m) { return uint64_t(m.rows) * uint64_t(m.cols); }

// Every matrix starts on a 128-byte boundary (16-byte vector loads, cuBLAS).
uint64_t padded(int64_t rows, int64_t cols) { return (uint64_t(rows) * uint64_t(cols) + 63) / 64 * 64; }
uint64_t padded(const cpu::MatView &m) { return padded(m.rows, m.cols); }

// The int8 scales of a matrix: one per block of each row.
uint64_t scale_count(int64_t rows, int64_t cols) { return uint64_t(rows) * uint64_t(cpu::quant_blocks(cols)); }
uint64_t scale_count(const cpu::MatView &m) { return scale_count(m.rows, m.cols); }

}  // namespace

int device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

void check_usable(int device, int32_t head_size) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        throw Error(RWKV5_ERR_BACKEND, std::string("no usable CUDA device: ") + cudaGetErrorString(e));
    }
    if (device < 0 || device >= n)
        throw Error(RWKV5_ERR_BACKEND, "CUDA device " + std::to_string(device) + " does not exist (" +
                                           std::to_string(n) + " device(s))");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    if (prop.major < 7)
        throw Error(RWKV5_ERR_BACKEND, std::string("CUDA device ") + prop.name + " has compute capability " +
                                           std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                                           "; the fp16 backend needs 7.0 or newer");
    if (head_size != 64)
        throw Error(RWKV5_ERR_BACKEND, "the CUDA backend supports head size 64 only, the model has " +
                                           std::to_string(head_size));
}

std::string system_info() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return std::string("cuda: 0 devices (") + cudaGetErrorString(e) + ")";
    }
    std::string out = "cuda: " + std::to_string(n) + " device(s)";
    for (int d = 0; d < n; ++d) {
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) continue;
        char buf[512];
        std::snprintf(buf, sizeof buf, "%s %d %s sm_%d%d %.1f GiB %d SMs", d ? "," : ":", d, prop.name, prop.major,
                      prop.minor, double(prop.totalGlobalMem) / double(1ull << 30), prop.multiProcessorCount);
        out += buf;
    }
    return out;
}

std::shared_ptr<DeviceWeights> upload_weights(const Model &model, int device,
                                              const std::function<bool(float)> &progress, bool int8) {
    check_usable(device, model.shape().head_size);
    check(cudaSetDevice(device), "cudaSetDevice");
    const ModelShape &s = model.shape();
    auto w = std::make_shared<DeviceWeights>();
    w->device = device;
    w->int8 = int8;

    std::vector<const cpu::MatView *> all;
    for (const LayerWeights &l : model.layers())
        for (const cpu::MatView *m : {&l.att_r, &l.att_k, &l.att_v, &l.att_g, &l.att_o, &l.ffn_k, &l.ffn_r, &l.ffn_v})
            all.push_back(m);
    all.push_back(&model.head());
    // Offsets (in elements) of every matrix in one allocation (and its scales in another).
    uint64_t cells = 0, blocks = 0, source_bytes = 0, floats = 0;
    for (const cpu::MatView *m : all) {
        cells += padded(*m);
        blocks += scale_count(*m);
        source_bytes += elements(*m) * cpu::weight_type_size(m->type);
    }
    w->matrix_bytes = int8 ? cells + blocks * 4 : cells * 2;
    floats = vector_floats(s);
    w->matrices = DeviceBuffer(size_t(cells) * (int8 ? 1 : 2));
    if (int8) w->scales = DeviceBuffer(size_t(blocks) * 4);
    w->vectors = DeviceBuffer(size_t(floats) * 4);

    Uploader up(source_bytes + floats * 4, progress);
    uint64_t cell = 0, block = 0;
    float *fp = w->vectors.as<float>();
    auto put_vec = [&](const std::vector<float> &v) {
        float *at = fp;
        up.vector(v, at);
        fp += v.size();
        return static_cast<const float *>(at);
    };
    // r, k, v and g are put one after the other: with padded() == elements() (A * C
    // is a multiple of 64), each begins A * C cells (A scale rows) after the last.
    auto put_mat = [&](const cpu::MatView &m, float scale) {
        Destination to;
        if (int8) {
            to.q = w->matrices.as<int8_t>() + cell;
            to.scales = w->scales.as<float>() + block;
        } else {
            to.f16 = w->matrices.as<__half>() + cell;
        }
        up.matrix(m, to, scale);
        cell += padded(m);
        block += scale_count(m);
        return DeviceMatrix{to.f16, to.q, to.scales};
    };
    for (size_t l = 0; l < model.layers().size(); ++l) {
        const LayerWeights &lw = model.layers()[l];
        const float scale = 1.0f / float(1u << (l / kRescaleLayer));
        DeviceLayer d{};
        d.ln1_w = put_vec(lw.ln1_w);
        d.ln1_b = put_vec(lw.ln1_b);
        d.ln2_w = put_vec(lw.ln2_w);
        d.ln2_b = put_vec(lw.ln2_b);
        d.att_mix[0] = put_vec(lw.att_mix_r);
        d.att_mix[1] = put_vec(lw.att_mix_k);
        d.att_mix[2] = put_vec(lw.att_mix_v);
        d.att_mix[3] = put_vec(lw.att_mix_g);
        d.ffn_mix[0] = put_vec(lw.ffn_mix_k);
        d.ffn_mix[1] = put_vec(lw.ffn_mix_r);
        d.decay = put_vec(lw.decay);
        d.bonus = put_vec(lw.bonus);
        d.lnx_w = put_vec(lw.lnx_w);
        d.lnx_b = put_vec(lw.lnx_b);
        d.att_rkvg = put_mat(lw.att_r, 1.0f);
        put_mat(lw.att_k, 1.0f);
        put_mat(lw.att_v, 1.0f);
        put_mat(lw.att_g, 1.0f);
        d.att_o = put_mat(lw.att_o, scale);
        d.ffn_k = put_mat(lw.ffn_k, 1.0f);
        d.ffn_r = put_mat(lw.ffn_r, 1.0f);
        d.ffn_v = put_mat(lw.ffn_v, scale);
        w->layers.push_back(d);
    }
    w->ln_out_w = put_vec(model.ln_out_w());
    w->ln_out_b = put_vec(model.ln_out_b());
    w->head = put_mat(model.head(), 1.0f);
    up.finish();
    return w;
}

MemoryBudget free_memory(int device) {
    check(cudaSetDevice(device), "cudaSetDevice");
    size_t free = 0, total = 0;
    check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    return {uint64_t(free), "device " + std::to_string(device) + " has " + human_bytes(free) + " free of " + human_bytes(total)};
}

uint64_t device_weight_bytes(const ModelShape &shape, bool int8) {
    uint64_t cells = 0, blocks = 0;
    for_each_matrix(shape, [&](int64_t rows, int64_t cols) {
        cells += padded(rows, cols);
        blocks += scale_count(rows, cols);
    });
    return (int8 ? cells + blocks * 4 : cells * 2) + vector_floats(shape) * 4;
}

uint64_t matrix_bytes(const DeviceWeights &weights) { return weights.matrix_bytes; }

uint64_t resident_bytes(const DeviceWeights &weights) {
    return weights.matrices.size() + weights.scales.size() + weights.vectors.size();
}

}  // namespace rwkv5::cuda
