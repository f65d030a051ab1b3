// A loaded RWKV-5.2 model: the checkpoint mapping plus the weights prepared
// for the CPU forward pass (docs/rwkv5.md §4). Immutable after load; shared by
// every context.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "AlignedBuffer.h"
#include "ModelShape.h"
#include "cpu/kernels.h"
#include "pth/PthArchive.h"
#include "rwkv5.h"

namespace rwkv5 {

namespace cuda {
class DeviceWeights;  // cuda/cuda.h; only ever set in a RWKV5_CUDA build
}

struct LayerWeights {
    std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
    std::vector<float> att_mix_k, att_mix_v, att_mix_r, att_mix_g;  // [C]
    std::vector<float> decay;                                       // w = exp(-exp(time_decay)), [A]
    std::vector<float> bonus;                                       // u, [A]
    std::vector<float> lnx_w, lnx_b;                                // [A]
    cpu::MatView att_r, att_k, att_v, att_g, att_o;
    std::vector<float> ffn_mix_k, ffn_mix_r;  // [C]
    cpu::MatView ffn_k, ffn_r, ffn_v;
};

class Model {
public:
    // Throws rwkv5::Error (loader codes, RWKV5_ERR_ABORTED, RWKV5_ERR_BACKEND)
    // or std::bad_alloc.
    static std::unique_ptr<Model> load(const std::string &path, const rwkv5_model_params &params);

    const ModelShape &shape() const { return shape_; }
    const rwkv5_model_info &info() const { return info_; }
    const std::vector<LayerWeights> &layers() const { return layers_; }
    // ln0-folded embedding table [V, C].
    const cpu::MatView &emb() const { return emb_; }
    const cpu::MatView &head() const { return head_; }
    const std::vector<float> &ln_out_w() const { return ln_out_w_; }
    const std::vector<float> &ln_out_b() const { return ln_out_b_; }
    // The weights on the device when info().backend is RWKV5_BACKEND_CUDA, else null.
    const cuda::DeviceWeights *device_weights() const { return device_weights_.get(); }

private:
    Model() = default;
    friend class WeightLoader;

    ModelShape shape_{};
    rwkv5_model_info info_{};
    std::unique_ptr<PthArchive> archive_;
    std::vector<AlignedBuffer> owned_;  // converted matrices and the folded embedding
    std::vector<LayerWeights> layers_;
    cpu::MatView emb_{}, head_{};
    std::vector<float> ln_out_w_, ln_out_b_;
    std::shared_ptr<cuda::DeviceWeights> device_weights_;
};

}  // namespace rwkv5
