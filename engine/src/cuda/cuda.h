// The CUDA fp16 backend's face to the rest of the engine (plain C++: no CUDA
// header leaks out of engine/src/cuda). Built only with RWKV5_CUDA=ON, which
// defines RWKV5_WITH_CUDA for the engine's translation units.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "Backend.h"
#include "MemoryBudget.h"
#include "ModelShape.h"

namespace rwkv5 {

class Model;

namespace cuda {

// Weights resident on one device: matrices in fp16 or int8 (att.output and ffn.value
// pre-divided by the docs/rwkv5.md §4 rescale factor), vectors, decay and bonus in
// fp32. Owned by the Model, shared by its contexts; defined in DeviceWeights.cuh.
class DeviceWeights;

// Number of usable CUDA devices (0 when there is no driver or no device).
int device_count();

// Throws rwkv5::Error(RWKV5_ERR_BACKEND) naming the reason when `device`
// cannot run the backend (no driver, no such device, compute capability
// below 7.0, head size other than 64).
void check_usable(int device, int32_t head_size);

// "cuda: 1 device(s): 0 NVIDIA H100 80GB HBM3 sm_90 79.1 GiB" or "cuda: 0 devices (why)".
std::string system_info();

// Uploads the model's host weights to `device`, converting bf16/fp32 to fp16,
// or quantizing them to int8 on the device when `int8`, and applying the
// rescale rule. `progress(fraction in [0,1])` returns false to abort
// (RWKV5_ERR_ABORTED). Throws rwkv5::Error (RWKV5_ERR_OUT_OF_MEMORY,
// RWKV5_ERR_BACKEND, RWKV5_ERR_ABORTED).
std::shared_ptr<DeviceWeights> upload_weights(const Model &model, int device,
                                              const std::function<bool(float)> &progress, bool int8);

// The free memory of `device` (cudaMemGetInfo), for the load's budget.
MemoryBudget free_memory(int device);

// The bytes resident_bytes() will report after upload_weights() of a model of
// this shape: its matrices in fp16, or int8 with their scales, and its vectors.
uint64_t device_weight_bytes(const ModelShape &shape, bool int8);

// Bytes of the resident matrices read by one decode step (every matrix + head).
uint64_t matrix_bytes(const DeviceWeights &weights);
// All device bytes of the weights.
uint64_t resident_bytes(const DeviceWeights &weights);

// Whether a load runs on CUDA: RWKV5_BACKEND_CUDA (throws RWKV5_ERR_BACKEND
// when the device is unusable or fp32 weights are asked for), or
// RWKV5_BACKEND_AUTO with 16-bit or int8 weights and a usable device.
bool selected(const rwkv5_model_params &params, int32_t head_size);

// The host side of a CUDA load: the parameters for the host weight loader
// (fp32 files stay fp32, mapped in place, so the fp16 conversion rounds once;
// others 16-bit) with its progress mapped to [0, 0.5), then the upload's
// progress on [0.5, 1).
class HostLoad {
public:
    HostLoad(const rwkv5_model_params &params, rwkv5_file_dtype file_dtype);
    HostLoad(const HostLoad &) = delete;
    HostLoad &operator=(const HostLoad &) = delete;
    const rwkv5_model_params &host_params() const { return host_; }
    std::function<bool(float)> upload_progress() const;
    // Reports 1 once, at the very end (throws RWKV5_ERR_ABORTED on refusal).
    void finish() const;

private:
    static bool scaled(float fraction, void *self);
    rwkv5_model_params outer_, host_;
};

// Fills the backend, weight type and byte counts of `info` for a CUDA model.
void describe(const Model &model, rwkv5_model_info &info);

std::unique_ptr<Backend> make_backend(const Model &model, int32_t n_slots, int32_t max_batch_tokens);

}  // namespace cuda
}  // namespace rwkv5
