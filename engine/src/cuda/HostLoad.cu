// Backend selection and the host half of a CUDA load (see cuda.h).
#include <algorithm>

#include "DeviceWeights.cuh"
#include "Model.h"

namespace rwkv5::cuda {

bool selected(const rwkv5_model_params &params, int32_t head_size) {
    const bool device_precision = params.weight_type == RWKV5_WEIGHTS_16BIT || params.weight_type == RWKV5_WEIGHTS_INT8 ||
                                  params.weight_type == RWKV5_WEIGHTS_AUTO;
    if (params.backend == RWKV5_BACKEND_CUDA) {
        if (!device_precision)
            throw Error(RWKV5_ERR_BACKEND, "the CUDA backend runs fp16 or int8 weights: ask for RWKV5_WEIGHTS_16BIT, "
                                           "RWKV5_WEIGHTS_INT8 or RWKV5_WEIGHTS_AUTO, or the CPU backend for fp32");
        check_usable(params.device, head_size);
        return true;
    }
    if (params.backend != RWKV5_BACKEND_AUTO || !device_precision) return false;
    try {
        check_usable(params.device, head_size);
        return true;
    } catch (const Error &) {
        return false;
    }
}

HostLoad::HostLoad(const rwkv5_model_params &params, rwkv5_file_dtype file_dtype) : outer_(params), host_(params) {
    host_.weight_type = file_dtype == RWKV5_DTYPE_F32 ? RWKV5_WEIGHTS_FP32 : RWKV5_WEIGHTS_16BIT;
    if (params.progress_callback) {
        host_.progress_callback = &HostLoad::scaled;
        host_.progress_user_data = this;
    }
}

bool HostLoad::scaled(float fraction, void *self) {
    const HostLoad &h = *static_cast<const HostLoad *>(self);
    return h.outer_.progress_callback(0.5f * std::min(fraction, 0.999f), h.outer_.progress_user_data);
}

std::function<bool(float)> HostLoad::upload_progress() const {
    if (!outer_.progress_callback) return {};
    const rwkv5_model_params p = outer_;
    return [p](float fraction) { return p.progress_callback(0.5f + 0.5f * fraction, p.progress_user_data); };
}

void HostLoad::finish() const {
    if (outer_.progress_callback && !outer_.progress_callback(1.0f, outer_.progress_user_data))
        throw Error(RWKV5_ERR_ABORTED, "model load aborted by the caller");
}

void describe(const Model &model, rwkv5_model_info &info) {
    const DeviceWeights &w = *model.device_weights();
    const cpu::MatView &emb = model.emb();
    const uint64_t emb_row = uint64_t(emb.cols) * cpu::weight_type_size(emb.type);
    info.backend = RWKV5_BACKEND_CUDA;
    info.weight_type = w.int8 ? RWKV5_WEIGHTS_INT8 : RWKV5_WEIGHTS_16BIT;
    info.weight_bytes = resident_bytes(w) + emb_row * uint64_t(emb.rows);
    info.decode_bytes_per_step = matrix_bytes(w) + emb_row;
}

}  // namespace rwkv5::cuda
