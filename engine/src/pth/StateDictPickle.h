// The pickle layer of a `.pth` file (docs/rwkv5.md §3.2): a small, bounds-checked
// interpreter for the opcodes torch.save emits, which builds only what a state
// dict needs (dicts, tuples, strings, numbers, storages, tensors) and executes
// no code: the only callables are OrderedDict and torch's tensor rebuilders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rwkv5 {

// One entry of the state dict as the pickle describes it; nothing checked
// against the archive yet.
struct PickledTensor {
    std::string name;
    std::string storage_key;   // the `<prefix>/data/<key>` entry
    std::string storage_type;  // the global's name, e.g. "BFloat16Storage"
    uint64_t storage_numel;    // elements of the whole storage
    uint64_t storage_offset;   // in elements
    std::vector<int64_t> shape, stride;
};

// Interprets the pickle `data` (`size` bytes) and returns the tensors of its
// root dict (OrderedDict or dict) in pickle order; non-tensor values are
// skipped. Throws rwkv5::Error(RWKV5_ERR_BAD_PICKLE) with a message that starts
// with `where` (the file and entry) and names the opcode and byte offset.
std::vector<PickledTensor> read_state_dict_pickle(const uint8_t *data, uint64_t size, const std::string &where);

}  // namespace rwkv5
