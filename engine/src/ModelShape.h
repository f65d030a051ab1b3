// The RWKV-5.2 architecture check: dims derived from tensor shapes, version
// detection, presence and shape of every tensor the forward pass reads.
#pragma once

#include <cstdint>
#include <string>

#include "rwkv5.h"
#include "pth/PthArchive.h"

namespace rwkv5 {

struct ModelShape {
    int32_t n_vocab, n_embd, n_layer, n_head, head_size, dim_att, dim_ffn;
    int64_t n_params;
    rwkv5_file_dtype file_dtype;  // of the 2-D matrices
    // The bonus is stored under the old v5 name `att.time_first` (use
    // u = exp(time_first)) instead of `att.time_faaaa` (u used as is).
    bool time_first = false;
};

// Throws rwkv5::Error: RWKV5_ERR_UNSUPPORTED_MODEL (RWKV-4/5.0/5.1/6/7 or not
// an RWKV model), RWKV5_ERR_MISSING_TENSOR, RWKV5_ERR_BAD_SHAPE,
// RWKV5_ERR_BAD_DTYPE. Messages name the file (archive.path()) and the tensor.
ModelShape inspect_model(const PthArchive &archive);

// Hex SHA-256 over the tensor directory (sorted names, dtypes, shapes) and up
// to 4 KiB from the start, middle and end of every tensor's bytes.
std::string compute_model_id(const PthArchive &archive);

}  // namespace rwkv5
