// A parsed PyTorch `.pth` checkpoint (torch.save ZIP + pickle), memory-mapped.
// Only the tensor directory is parsed; tensor bytes stay in the mapping.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pth/ZipDirectory.h"

namespace rwkv5 {

enum class StorageType { F32, F16, BF16, F64, I64, I32, U8, Bool };

// Bytes per element of a storage type.
size_t storage_type_size(StorageType type);
const char *storage_type_name(StorageType type);

// One tensor of the state dict. Always contiguous (row-major): a checkpoint
// with other strides is refused at open().
struct TensorRef {
    std::string name;
    StorageType dtype;
    std::vector<int64_t> shape;  // empty for a 0-d tensor
    const uint8_t *data;         // first element, inside the file mapping
    uint64_t numel;
    size_t entry;                // index in PthArchive::entries() of the record holding its storage
    uint64_t nbytes() const { return numel * storage_type_size(dtype); }
};

class PthArchive {
public:
    // Maps and parses `path`. Throws rwkv5::Error (RWKV5_ERR_IO, _BAD_ARCHIVE,
    // _BAD_PICKLE, _BAD_SHAPE, _BAD_DTYPE) whose message names the file and
    // what is wrong with it.
    static std::unique_ptr<PthArchive> open(const std::string &path);
    ~PthArchive();

    const std::string &path() const { return path_; }
    uint64_t file_size() const { return size_; }
    // In the pickle's order.
    const std::vector<TensorRef> &tensors() const { return tensors_; }
    // nullptr when absent.
    const TensorRef *find(const std::string &name) const;
    // Every record of the ZIP archive, in central-directory order.
    const std::vector<ZipEntry> &entries() const { return entries_; }
    const uint8_t *data(const ZipEntry &entry) const { return base_ + entry.data_offset; }
    // Drops this process's pages of a tensor it has copied elsewhere: they
    // leave the resident set (the page cache may keep them), so a file larger
    // than half the memory is never resident next to its converted copy.
    // Reading the tensor again is still valid (the pages fault in anew).
    void release(const TensorRef &t) const;

    PthArchive(const PthArchive &) = delete;
    PthArchive &operator=(const PthArchive &) = delete;

private:
    PthArchive() = default;
    std::string path_;
    const uint8_t *base_ = nullptr;
    uint64_t size_ = 0;
    std::vector<ZipEntry> entries_;
    std::vector<TensorRef> tensors_;
    std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
};

}  // namespace rwkv5
