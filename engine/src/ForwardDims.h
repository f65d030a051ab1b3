// A model's dimensions as the forward passes name them, and the layout of one
// slot's state (docs/rwkv5.md §7), shared by the CPU and CUDA backends.
#pragma once

#include <cstdint>

#include "rwkv5.h"

namespace rwkv5 {

struct ForwardDims {
    explicit ForwardDims(const rwkv5_model_info &in)
        : C(in.n_embd),
          A(in.dim_att),
          F(in.dim_ffn),
          V(in.n_vocab),
          H(in.n_head),
          N(in.head_size),
          L(in.n_layer),
          ffn_part(C + H * N * N),
          layer_floats(ffn_part + C),
          slot_floats(L * layer_floats) {}

    int64_t C, A, F, V, H, N, L;
    // Per layer of a slot's state: the time-mix shift vector (C floats at 0),
    // the WKV state (H*N*N at C), then the channel-mix shift vector (C floats
    // at ffn_part).
    int64_t ffn_part, layer_floats;
    int64_t slot_floats;  // one slot's whole state
};

}  // namespace rwkv5
