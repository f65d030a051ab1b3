#include "ModelShape.h"

#include <algorithm>
#include <climits>
#include <initializer_list>

#include "Error.h"
#include "Sha256.h"

namespace rwkv5 {
namespace {

// Keys of RWKV-7 ("x070") attention blocks that no RWKV-5 checkpoint has.
const char *const kV7AttentionKeys[] = {"att.r_k", "att.w0", "att.w1", "att.w2", "att.a0", "att.a1", "att.a2",
                                         "att.v0",  "att.v1", "att.v2", "att.k_k", "att.k_a", "att.x_r"};

std::string shape_string(const std::vector<int64_t> &dims) {
    std::string text = "[";
    for (size_t i = 0; i < dims.size(); i++) text += (i ? ", " : "") + std::to_string(dims[i]);
    return text + "]";
}

bool contains(const std::string &text, const char *part) { return text.find(part) != std::string::npos; }

// "blocks.12.att.key.weight" -> 12 and "att.key.weight"; -1 for other keys.
int64_t block_index(const std::string &name, std::string *suffix) {
    static const std::string kPrefix = "blocks.";
    if (name.compare(0, kPrefix.size(), kPrefix) != 0) return -1;
    size_t pos = kPrefix.size();
    int64_t index = 0;
    while (pos < name.size() && name[pos] >= '0' && name[pos] <= '9' && pos - kPrefix.size() < 9) {
        index = index * 10 + (name[pos++] - '0');
    }
    if (pos == kPrefix.size() || pos >= name.size() || name[pos] != '.') return -1;
    *suffix = name.substr(pos + 1);
    return index;
}

class Inspector {
public:
    explicit Inspector(const PthArchive &archive) : archive_(archive), path_(archive.path()) {}

    ModelShape run();

private:
    [[noreturn]] void unsupported(const std::string &what) const {
        throw Error(RWKV5_ERR_UNSUPPORTED_MODEL, path_ + ": " + what + "; rwkv-bot runs RWKV-5.2 only");
    }
    void detect_version();
    const TensorRef &require(const std::string &name) const;
    // Dimension `d` of a tensor, as a positive int32.
    int32_t dim(const TensorRef &tensor, size_t d) const;
    // Checks presence, float dtype and shape, and counts the parameters.
    // `vector_of` > 0 accepts the squeezed forms [n] and [1, n] of [1, 1, n].
    void check(const std::string &name, std::initializer_list<int64_t> shape, bool matrix, int64_t vector_of = 0);

    const PthArchive &archive_;
    const std::string &path_;
    ModelShape shape_{};
    int64_t max_block_ = -1;
    bool dtype_seen_ = false;
};

void Inspector::detect_version() {
    bool has_ln_x = false, has_gate = false, has_emb = false;
    for (const TensorRef &tensor : archive_.tensors()) {
        std::string suffix;
        const int64_t block = block_index(tensor.name, &suffix);
        max_block_ = std::max(max_block_, block);
        has_emb = has_emb || tensor.name == "emb.weight";
        if (block < 0) continue;
        for (const char *key : kV7AttentionKeys) {
            if (suffix == key) unsupported("an RWKV-7 checkpoint (it has '" + tensor.name + "')");
        }
        if (contains(suffix, "time_maa")) unsupported("an RWKV-6 checkpoint (it has '" + tensor.name + "')");
        has_ln_x = has_ln_x || contains(suffix, "ln_x");
        has_gate = has_gate || suffix == "att.gate.weight";
    }
    if (!has_emb && max_block_ < 0) {
        throw Error(RWKV5_ERR_UNSUPPORTED_MODEL,
                    path_ + ": not an RWKV checkpoint (no 'emb.weight' and no 'blocks.N.' tensors)");
    }
    if (!has_ln_x) unsupported("an RWKV-4 checkpoint (no 'att.ln_x' tensors)");
    if (!has_gate) unsupported("an RWKV-5.0 checkpoint (no 'att.gate.weight' tensors)");
    const TensorRef &decay = require("blocks.0.att.time_decay");
    if (decay.shape.size() == 1 || (decay.shape.size() == 2 && decay.shape[1] == 1)) {
        unsupported("an RWKV-5.1 checkpoint ('blocks.0.att.time_decay' has shape " + shape_string(decay.shape) +
                    ", not [heads, head_size])");
    }
    if (decay.shape.size() != 2) {
        throw Error(RWKV5_ERR_BAD_SHAPE, path_ + ": tensor 'blocks.0.att.time_decay' has shape " +
                                             shape_string(decay.shape) + ", expected [heads, head_size]");
    }
}

const TensorRef &Inspector::require(const std::string &name) const {
    const TensorRef *tensor = archive_.find(name);
    if (!tensor) {
        throw Error(RWKV5_ERR_MISSING_TENSOR,
                    path_ + ": missing tensor '" + name + "', which every RWKV-5.2 checkpoint has");
    }
    return *tensor;
}

int32_t Inspector::dim(const TensorRef &tensor, size_t d) const {
    if (tensor.shape.size() <= d || tensor.shape[d] <= 0 || tensor.shape[d] > INT32_MAX) {
        throw Error(RWKV5_ERR_BAD_SHAPE, path_ + ": tensor '" + tensor.name + "' has shape " +
                                             shape_string(tensor.shape) + ", which gives no model dimension");
    }
    return int32_t(tensor.shape[d]);
}

void Inspector::check(const std::string &name, std::initializer_list<int64_t> expected, bool matrix,
                      int64_t vector_of) {
    const TensorRef &tensor = require(name);
    if (tensor.dtype != StorageType::F32 && tensor.dtype != StorageType::F16 && tensor.dtype != StorageType::BF16) {
        throw Error(RWKV5_ERR_BAD_DTYPE, path_ + ": tensor '" + name + "' is " + storage_type_name(tensor.dtype) +
                                             "; weights must be float32, float16 or bfloat16");
    }
    const std::vector<int64_t> want(expected);
    bool ok = tensor.shape == want;
    if (vector_of > 0) {
        ok = ok || tensor.shape == std::vector<int64_t>{vector_of} ||
             tensor.shape == std::vector<int64_t>{1, vector_of};
    }
    if (!ok) {
        throw Error(RWKV5_ERR_BAD_SHAPE, path_ + ": tensor '" + name + "' has shape " + shape_string(tensor.shape) +
                                             ", expected " + shape_string(want));
    }
    shape_.n_params += int64_t(tensor.numel);
    if (!matrix) return;
    const rwkv5_file_dtype dtype = tensor.dtype == StorageType::F32   ? RWKV5_DTYPE_F32
                                   : tensor.dtype == StorageType::F16 ? RWKV5_DTYPE_F16
                                                                      : RWKV5_DTYPE_BF16;
    if (!dtype_seen_) {
        shape_.file_dtype = dtype;
        dtype_seen_ = true;
    } else if (shape_.file_dtype != dtype) {
        shape_.file_dtype = RWKV5_DTYPE_MIXED;
    }
}

ModelShape Inspector::run() {
    detect_version();
    const TensorRef &emb = require("emb.weight");
    const TensorRef &decay = require("blocks.0.att.time_decay");
    shape_.n_vocab = dim(emb, 0);
    shape_.n_embd = dim(emb, 1);
    shape_.n_head = dim(decay, 0);
    shape_.head_size = dim(decay, 1);
    shape_.dim_att = dim(require("blocks.0.att.key.weight"), 0);
    shape_.dim_ffn = dim(require("blocks.0.ffn.key.weight"), 0);
    if (int64_t(shape_.n_head) * shape_.head_size != shape_.dim_att) {
        throw Error(RWKV5_ERR_BAD_SHAPE, path_ + ": 'blocks.0.att.key.weight' has " +
                                             std::to_string(shape_.dim_att) + " rows but 'blocks.0.att.time_decay' "
                                             "gives " + std::to_string(shape_.n_head) + " heads of " +
                                             std::to_string(shape_.head_size));
    }
    shape_.n_layer = int32_t(max_block_ + 1);
    shape_.time_first = archive_.find("blocks.0.att.time_faaaa") == nullptr &&
                        archive_.find("blocks.0.att.time_first") != nullptr;

    const int64_t V = shape_.n_vocab, C = shape_.n_embd, H = shape_.n_head, N = shape_.head_size;
    const int64_t A = shape_.dim_att, F = shape_.dim_ffn;
    check("emb.weight", {V, C}, true);
    check("blocks.0.ln0.weight", {C}, false);
    check("blocks.0.ln0.bias", {C}, false);
    for (int64_t i = 0; i < shape_.n_layer; i++) {
        const std::string b = "blocks." + std::to_string(i) + ".";
        for (const char *ln : {"ln1", "ln2"}) {
            check(b + ln + ".weight", {C}, false);
            check(b + ln + ".bias", {C}, false);
        }
        for (const char *mix : {"att.time_mix_k", "att.time_mix_v", "att.time_mix_r", "att.time_mix_g",
                                "ffn.time_mix_k", "ffn.time_mix_r"}) {
            check(b + mix, {1, 1, C}, false, C);
        }
        check(b + "att.time_decay", {H, N}, false);
        check(b + (shape_.time_first ? "att.time_first" : "att.time_faaaa"), {H, N}, false);
        for (const char *proj : {"att.receptance.weight", "att.key.weight", "att.value.weight", "att.gate.weight"}) {
            check(b + proj, {A, C}, true);
        }
        check(b + "att.output.weight", {C, A}, true);
        check(b + "att.ln_x.weight", {A}, false);
        check(b + "att.ln_x.bias", {A}, false);
        check(b + "ffn.key.weight", {F, C}, true);
        check(b + "ffn.receptance.weight", {C, C}, true);
        check(b + "ffn.value.weight", {C, F}, true);
    }
    check("ln_out.weight", {C}, false);
    check("ln_out.bias", {C}, false);
    check("head.weight", {V, C}, true);
    return shape_;
}

}  // namespace

ModelShape inspect_model(const PthArchive &archive) { return Inspector(archive).run(); }

std::string compute_model_id(const PthArchive &archive) {
    std::vector<const TensorRef *> sorted;
    for (const TensorRef &tensor : archive.tensors()) sorted.push_back(&tensor);
    std::sort(sorted.begin(), sorted.end(), [](const TensorRef *a, const TensorRef *b) { return a->name < b->name; });
    Sha256 hash;
    for (const TensorRef *tensor : sorted) {
        hash.update(tensor->name + "\n" + storage_type_name(tensor->dtype) + "\n" + shape_string(tensor->shape) + "\n");
    }
    // Three 4 KiB windows per tensor tell different weights of the same shape
    // apart without reading a 23 GB file.
    constexpr uint64_t kWindow = 4096;
    for (const TensorRef *tensor : sorted) {
        const uint64_t n = tensor->nbytes();
        if (n <= 3 * kWindow) {
            hash.update(tensor->data, n);
            continue;
        }
        hash.update(tensor->data, kWindow);
        hash.update(tensor->data + n / 2 - kWindow / 2, kWindow);
        hash.update(tensor->data + n - kWindow, kWindow);
    }
    return hash.finish_hex();
}

}  // namespace rwkv5
