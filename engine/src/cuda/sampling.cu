#include <cub/block/block_reduce.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include <algorithm>
#include <climits>
#include <cstring>

#include "sampling.cuh"

namespace rwkv5::cuda {

namespace {

constexpr int kThreads = 1024;
constexpr int kCopyThreads = 256;
constexpr int kCopyBlocksPerRow = 16;

// The first highest value: the oracle's argmax keeps the lowest id of a tie.
struct ValueAt {
    float value;
    int32_t id;
};
struct FirstMax {
    __device__ ValueAt operator()(const ValueAt &a, const ValueAt &b) const {
        return b.value > a.value || (b.value == a.value && b.id < a.id) ? b : a;
    }
};

__global__ void fill_kernel(double *p, double value, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        p[i] = value;
}

// Row r of ids holds 0..V-1: the values the sort carries along.
__global__ void iota_kernel(int32_t *ids, int64_t V, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        ids[i] = int32_t(i % V);
}

__global__ void offsets_kernel(int32_t *offsets, int32_t rows, int64_t V) {
    for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i <= rows; i += gridDim.x * blockDim.x)
        offsets[i] = int32_t(int64_t(i) * V);
}

// grid (kCopyBlocksPerRow, rows): the rows whose head row lies in [first, first + n).
__global__ void gather_kernel(const RowParams *params, const float *logits, int64_t first, int64_t n, float *work,
                              int64_t V) {
    const int64_t src = params[blockIdx.y].source_row;
    if (src < first || src >= first + n) return;
    const float *from = logits + (src - first) * V;
    float *to = work + int64_t(blockIdx.y) * V;
    for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < V; t += int64_t(gridDim.x) * blockDim.x)
        to[t] = from[t];
}

// One block per row: penalties and bans on the work row (Sampler.penalize),
// then the greedy token, or the float32 probabilities as sort keys
// (Nucleus.select's softmax: exp in double, rounded to float32, divided by
// the unrounded sum). __d*_rn keep nvcc from fusing what the oracle rounds.
__global__ void __launch_bounds__(kThreads) prepare_kernel(const RowParams *params, const int32_t *id_list,
                                                           double *counts, float *work, uint32_t *keys,
                                                           int32_t *tokens, int64_t V) {
    using MaxReduce = cub::BlockReduce<ValueAt, kThreads>;
    using SumReduce = cub::BlockReduce<double, kThreads>;
    __shared__ union {
        typename MaxReduce::TempStorage max;
        typename SumReduce::TempStorage sum;
    } temp;
    __shared__ ValueAt best_shared;
    __shared__ double sum_shared;
    const RowParams p = params[blockIdx.x];
    double *count = counts + int64_t(p.slot) * V;
    float *w = work + int64_t(blockIdx.x) * V;
    if (p.new_reply) {
        for (int64_t t = threadIdx.x; t < V; t += blockDim.x) count[t] = -1.0;
        __syncthreads();
    }
    for (int64_t t = threadIdx.x; t < V; t += blockDim.x) {
        const double c = count[t];
        if (c >= 0) w[t] = float(__dsub_rn(double(w[t]), __dadd_rn(p.presence, __dmul_rn(c, p.frequency))));
    }
    __syncthreads();
    for (int32_t i = threadIdx.x; i < p.n_banned; i += blockDim.x) w[id_list[p.banned_begin + i]] = -INFINITY;
    __syncthreads();
    ValueAt local{-INFINITY, INT_MAX};
    for (int64_t t = threadIdx.x; t < V; t += blockDim.x) local = FirstMax()(local, ValueAt{w[t], int32_t(t)});
    const ValueAt best = MaxReduce(temp.max).Reduce(local, FirstMax());
    if (threadIdx.x == 0) best_shared = best;
    __syncthreads();
    if (p.temperature == 0) {
        if (threadIdx.x == 0) tokens[blockIdx.x] = best_shared.id;
        return;
    }
    const double max = best_shared.value;
    double partial = 0;
    for (int64_t t = threadIdx.x; t < V; t += blockDim.x) {
        const double e = exp(__dsub_rn(double(w[t]), max));
        partial = __dadd_rn(partial, e);
        w[t] = float(e);
    }
    __syncthreads();  // temp.max is read by every thread above before temp.sum reuses it
    const double sum = SumReduce(temp.sum).Sum(partial);
    if (threadIdx.x == 0) sum_shared = sum;
    __syncthreads();
    uint32_t *key = keys + int64_t(blockIdx.x) * V;
    for (int64_t t = threadIdx.x; t < V; t += blockDim.x) key[t] = __float_as_uint(float(__ddiv_rn(double(w[t]), sum_shared)));
}

__device__ double draw_weight(uint32_t key, double temperature) {
    const double p = __uint_as_float(key);
    return temperature == 1 ? p : double(float(pow(p, __ddiv_rn(1.0, temperature))));
}

// One thread per row, over the row sorted by probability (descending, ids
// ascending among ties): the top-p cut with the oracle's float32 running sum
// (sequential by definition), top-k, temperature, and the draw with its
// subtractions in its order (Sampler.sample).
__global__ void draw_kernel(const RowParams *params, const uint32_t *keys, const int32_t *ids, int32_t *tokens,
                            int64_t V) {
    const RowParams p = params[blockIdx.x];
    if (p.temperature == 0) return;
    const uint32_t *key = keys + int64_t(blockIdx.x) * V;
    const int32_t *id = ids + int64_t(blockIdx.x) * V;
    float cumulative = 0;
    int64_t kept = V;  // a float32 sum of everything just under a top-p near 1 keeps all
    for (int64_t i = 0; i < V; ++i) {
        cumulative = __fadd_rn(cumulative, __uint_as_float(key[i]));
        if (cumulative >= p.top_p) {
            kept = i + 1;
            while (kept < V && key[kept] == key[i]) ++kept;
            break;
        }
    }
    const int64_t n = p.top_k > 0 && p.top_k < kept ? p.top_k : kept;
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total = __dadd_rn(total, draw_weight(key[i], p.temperature));
    int64_t last = n - 1;
    while (last > 0 && draw_weight(key[last], p.temperature) == 0) --last;
    int32_t token = id[last];
    double u = p.uniform;
    for (int64_t i = 0; i < n; ++i) {
        u = __dsub_rn(u, __ddiv_rn(draw_weight(key[i], p.temperature), total));
        if (u < 0) {
            token = id[i];
            break;
        }
    }
    tokens[blockIdx.x] = token;
}

// One block per row: every count of the slot decays, then the token counts
// (Sampler.accept).
__global__ void __launch_bounds__(kThreads) accept_kernel(const RowParams *params, const int32_t *id_list,
                                                          const int32_t *tokens, double *counts, int64_t V) {
    const RowParams p = params[blockIdx.x];
    double *count = counts + int64_t(p.slot) * V;
    for (int64_t t = threadIdx.x; t < V; t += blockDim.x) {
        const double c = count[t];
        if (c >= 0) count[t] = __dmul_rn(c, p.decay);
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    const int32_t token = tokens[blockIdx.x];
    double weight = 1;
    for (int32_t i = 0; i < p.n_uncounted; ++i)
        if (id_list[p.uncounted_begin + i] == token) weight = 0;
    const double c = count[token];
    count[token] = __dadd_rn(c >= 0 ? c : 0.0, weight);
}

int grid_for(int64_t n, int threads) { return int(std::min<int64_t>((n + threads - 1) / threads, 4096)); }

}  // namespace

DeviceSampler::DeviceSampler(int32_t n_slots, int32_t max_rows, int64_t n_vocab, cudaStream_t stream)
    : V_(n_vocab), stream_(stream) {
    const size_t cells = size_t(max_rows) * size_t(n_vocab);
    if (cells > size_t(INT_MAX)) throw Error(RWKV5_ERR_INVALID_ARGUMENT, "too many slots for device sampling of this vocabulary");
    counts_ = DeviceBuffer(size_t(n_slots) * size_t(n_vocab) * 8);
    work_ = DeviceBuffer(cells * 4);
    keys_in_ = DeviceBuffer(cells * 4);
    keys_out_ = DeviceBuffer(cells * 4);
    ids_in_ = DeviceBuffer(cells * 4);
    ids_out_ = DeviceBuffer(cells * 4);
    offsets_ = DeviceBuffer((size_t(max_rows) + 1) * 4);
    params_ = DeviceBuffer(size_t(max_rows) * sizeof(RowParams));
    tokens_ = DeviceBuffer(size_t(max_rows) * 4);
    params_host_ = PinnedBuffer(size_t(max_rows) * sizeof(RowParams));
    tokens_host_ = PinnedBuffer(size_t(max_rows) * 4);
    fill_kernel<<<grid_for(int64_t(counts_.size() / 8), kCopyThreads), kCopyThreads, 0, stream_>>>(
        counts_.as<double>(), -1.0, int64_t(counts_.size() / 8));
    iota_kernel<<<grid_for(int64_t(cells), kCopyThreads), kCopyThreads, 0, stream_>>>(ids_in_.as<int32_t>(), V_,
                                                                                       int64_t(cells));
    offsets_kernel<<<1, kCopyThreads, 0, stream_>>>(offsets_.as<int32_t>(), max_rows, V_);
    check(cudaGetLastError(), "sampler setup");
    check(cub::DeviceSegmentedRadixSort::SortPairsDescending(
              nullptr, sort_temp_bytes_, keys_in_.as<uint32_t>(), keys_out_.as<uint32_t>(), ids_in_.as<int32_t>(),
              ids_out_.as<int32_t>(), int(cells), max_rows, offsets_.as<int32_t>(), offsets_.as<int32_t>() + 1, 0, 32,
              stream_),
          "sort size");
    sort_temp_ = DeviceBuffer(std::max<size_t>(sort_temp_bytes_, 1));
    host_rows_.reserve(size_t(max_rows));
}

void DeviceSampler::clear_rows() {
    host_rows_.clear();
    host_ids_.clear();
}

void DeviceSampler::add_row(int32_t slot, const rwkv5_sampling_params &p, int32_t source_row) {
    RowParams r{};
    r.temperature = p.temperature;
    r.presence = p.presence_penalty;
    r.frequency = p.frequency_penalty;
    r.decay = p.penalty_decay;
    r.uniform = p.uniform;
    r.top_p = float(p.top_p);
    r.top_k = p.top_k;
    r.slot = slot;
    r.new_reply = p.new_reply ? 1 : 0;
    r.banned_begin = int32_t(host_ids_.size());
    r.n_banned = p.n_banned;
    host_ids_.insert(host_ids_.end(), p.banned, p.banned + p.n_banned);
    r.uncounted_begin = int32_t(host_ids_.size());
    r.n_uncounted = p.n_uncounted;
    host_ids_.insert(host_ids_.end(), p.uncounted, p.uncounted + p.n_uncounted);
    r.source_row = source_row;
    host_rows_.push_back(r);
}

void DeviceSampler::upload() {
    if (host_rows_.empty()) return;
    if (host_ids_.size() > ids_capacity_) {
        // The pinned staging may still feed an earlier copy.
        check(cudaStreamSynchronize(stream_), "sampler ids");
        ids_capacity_ = std::max(host_ids_.size(), 2 * ids_capacity_);
        ids_ = DeviceBuffer(ids_capacity_ * 4);
        ids_host_ = PinnedBuffer(ids_capacity_ * 4);
    }
    std::memcpy(params_host_.as<void>(), host_rows_.data(), host_rows_.size() * sizeof(RowParams));
    check(cudaMemcpyAsync(params_.as<void>(), params_host_.as<void>(), host_rows_.size() * sizeof(RowParams),
                          cudaMemcpyHostToDevice, stream_),
          "sampler params upload");
    if (!host_ids_.empty()) {
        std::memcpy(ids_host_.as<void>(), host_ids_.data(), host_ids_.size() * 4);
        check(cudaMemcpyAsync(ids_.as<void>(), ids_host_.as<void>(), host_ids_.size() * 4, cudaMemcpyHostToDevice,
                              stream_),
              "sampler ids upload");
    }
}

void DeviceSampler::gather(const float *logits, int64_t first, int64_t n) {
    if (host_rows_.empty()) return;
    gather_kernel<<<dim3(kCopyBlocksPerRow, unsigned(host_rows_.size())), kCopyThreads, 0, stream_>>>(
        params_.as<RowParams>(), logits, first, n, work_.as<float>(), V_);
    check(cudaGetLastError(), "sampler gather");
}

void DeviceSampler::run() {
    const int32_t rows = int32_t(host_rows_.size());
    if (rows == 0) return;
    prepare_kernel<<<rows, kThreads, 0, stream_>>>(params_.as<RowParams>(), ids_.as<int32_t>(), counts_.as<double>(),
                                                   work_.as<float>(), keys_in_.as<uint32_t>(), tokens_.as<int32_t>(), V_);
    check(cudaGetLastError(), "sampler prepare");
    size_t temp_bytes = sort_temp_bytes_;
    check(cub::DeviceSegmentedRadixSort::SortPairsDescending(
              sort_temp_.as<void>(), temp_bytes, keys_in_.as<uint32_t>(), keys_out_.as<uint32_t>(),
              ids_in_.as<int32_t>(), ids_out_.as<int32_t>(), int(int64_t(rows) * V_), rows, offsets_.as<int32_t>(),
              offsets_.as<int32_t>() + 1, 0, 32, stream_),
          "sampler sort");
    draw_kernel<<<rows, 1, 0, stream_>>>(params_.as<RowParams>(), keys_out_.as<uint32_t>(), ids_out_.as<int32_t>(),
                                         tokens_.as<int32_t>(), V_);
    check(cudaGetLastError(), "sampler draw");
    accept_kernel<<<rows, kThreads, 0, stream_>>>(params_.as<RowParams>(), ids_.as<int32_t>(), tokens_.as<int32_t>(),
                                                  counts_.as<double>(), V_);
    check(cudaGetLastError(), "sampler accept");
    check(cudaMemcpyAsync(tokens_host_.as<void>(), tokens_.as<void>(), size_t(rows) * 4, cudaMemcpyDeviceToHost,
                          stream_),
          "sampled tokens copy");
}

void DeviceSampler::clear_slot(int32_t slot) {
    fill_kernel<<<grid_for(V_, kCopyThreads), kCopyThreads, 0, stream_>>>(counts_.as<double>() + int64_t(slot) * V_,
                                                                            -1.0, V_);
    check(cudaGetLastError(), "penalty counts reset");
}

}  // namespace rwkv5::cuda
