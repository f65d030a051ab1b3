#include "pth/PthArchive.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "Error.h"
#include "pth/StateDictPickle.h"
#include "pth/ZipDirectory.h"

namespace rwkv5 {
namespace {

struct StorageTypeInfo {
    const char *pickle_name;
    StorageType type;
};

const StorageTypeInfo kStorageTypes[] = {
    {"FloatStorage", StorageType::F32}, {"HalfStorage", StorageType::F16}, {"BFloat16Storage", StorageType::BF16},
    {"DoubleStorage", StorageType::F64}, {"LongStorage", StorageType::I64}, {"IntStorage", StorageType::I32},
    {"ByteStorage", StorageType::U8},   {"BoolStorage", StorageType::Bool},
};

std::string shape_string(const std::vector<int64_t> &dims) {
    std::string text = "[";
    for (size_t i = 0; i < dims.size(); i++) text += (i ? ", " : "") + std::to_string(dims[i]);
    return text + "]";
}

bool ends_with(const std::string &text, const std::string &suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Owns the read-only mapping until the archive is built (or the open fails).
struct Mapping {
    const uint8_t *base = nullptr;
    uint64_t size = 0;
    ~Mapping() {
        if (base) munmap(const_cast<uint8_t *>(base), size);
    }
};

void map_file(const std::string &path, Mapping *mapping) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(RWKV5_ERR_IO, path + ": cannot open: " + std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw Error(RWKV5_ERR_IO, path + ": cannot stat: " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(RWKV5_ERR_IO, path + ": not a regular file" + (S_ISDIR(st.st_mode) ? " (a directory)" : ""));
    }
    if (st.st_size == 0) {
        ::close(fd);
        throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": empty file (0 bytes); is the download complete?");
    }
    void *base = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);
    if (base == MAP_FAILED) throw Error(RWKV5_ERR_IO, path + ": cannot memory-map: " + std::strerror(e));
    mapping->base = static_cast<const uint8_t *>(base);
    mapping->size = uint64_t(st.st_size);
}

// Other checkpoint formats that people download next to `.pth` files get a
// message that names them instead of "not a ZIP archive".
void refuse_foreign_format(const std::string &path, const uint8_t *base, uint64_t size) {
    if (size >= 2 && base[0] == 0x80 && base[1] >= 2 && base[1] <= 5) {
        throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": a legacy (non-ZIP) torch.save file; re-save it with torch >= 1.6");
    }
    if (size >= 10 && base[8] == '{' && base[9] == '"') {
        throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": a safetensors file; rwkv-bot reads .pth checkpoints");
    }
}

const ZipEntry &find_pickle(const std::vector<ZipEntry> &entries, const std::string &path) {
    const ZipEntry *pickle = nullptr;
    for (const ZipEntry &entry : entries) {
        if (ends_with(entry.name, "/data.pkl") && (!pickle || entry.name.size() < pickle->name.size())) {
            pickle = &entry;
        }
    }
    if (!pickle) {
        std::string names;
        for (size_t i = 0; i < entries.size() && i < 5; i++) names += (i ? ", '" : "'") + entries[i].name + "'";
        if (entries.size() > 5) names += ", ...";
        throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": a ZIP archive without a '<folder>/data.pkl' entry, so not a "
                                                  "torch.save checkpoint (entries: " + names + ")");
    }
    return *pickle;
}

void require_stored(const ZipEntry &entry, const std::string &path) {
    if (entry.method != 0) {
        throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": entry '" + entry.name + "' is compressed (method " +
                                               std::to_string(entry.method) +
                                               "); torch.save stores entries uncompressed: was the file re-zipped?");
    }
    if (entry.flags & 1) throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": entry '" + entry.name + "' is encrypted");
}

}  // namespace

size_t storage_type_size(StorageType type) {
    switch (type) {
        case StorageType::F64:
        case StorageType::I64: return 8;
        case StorageType::F32:
        case StorageType::I32: return 4;
        case StorageType::F16:
        case StorageType::BF16: return 2;
        case StorageType::U8:
        case StorageType::Bool: return 1;
    }
    return 1;
}

const char *storage_type_name(StorageType type) {
    switch (type) {
        case StorageType::F32: return "float32";
        case StorageType::F16: return "float16";
        case StorageType::BF16: return "bfloat16";
        case StorageType::F64: return "float64";
        case StorageType::I64: return "int64";
        case StorageType::I32: return "int32";
        case StorageType::U8: return "uint8";
        case StorageType::Bool: return "bool";
    }
    return "?";
}

std::unique_ptr<PthArchive> PthArchive::open(const std::string &path) {
    Mapping mapping;
    map_file(path, &mapping);
    const uint8_t *base = mapping.base;
    const uint64_t size = mapping.size;
    refuse_foreign_format(path, base, size);

    std::unique_ptr<PthArchive> archive(new PthArchive());
    archive->entries_ = read_zip_directory(base, size, path);
    const std::vector<ZipEntry> &entries = archive->entries_;
    std::unordered_map<std::string, size_t> by_name;
    for (size_t i = 0; i < entries.size(); ++i) by_name.emplace(entries[i].name, i);

    const ZipEntry &pickle = find_pickle(entries, path);
    require_stored(pickle, path);
    const std::string prefix = pickle.name.substr(0, pickle.name.size() - std::string("data.pkl").size());
    const auto byteorder = by_name.find(prefix + "byteorder");
    if (byteorder != by_name.end()) {
        const ZipEntry &entry = entries[byteorder->second];
        const std::string order(reinterpret_cast<const char *>(base + entry.data_offset), size_t(entry.size));
        if (entry.method == 0 && order != "little") {
            throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": tensors are stored in '" + order.substr(0, 16) +
                                                   "' byte order; only little-endian checkpoints are supported");
        }
    }

    const std::vector<PickledTensor> pickled =
        read_state_dict_pickle(base + pickle.data_offset, pickle.size, path + ": " + pickle.name);

    archive->tensors_.reserve(pickled.size());
    for (const PickledTensor &p : pickled) {
        const std::string where = path + ": tensor '" + p.name + "'";
        const StorageTypeInfo *info = nullptr;
        for (const StorageTypeInfo &candidate : kStorageTypes) {
            if (p.storage_type == candidate.pickle_name) info = &candidate;
        }
        if (!info) throw Error(RWKV5_ERR_BAD_DTYPE, where + " is stored as torch." + p.storage_type +
                                                        ", a type rwkv-bot cannot read");
        const uint64_t elem = storage_type_size(info->type);

        const std::string entry_name = prefix + "data/" + p.storage_key;
        const auto found = by_name.find(entry_name);
        if (found == by_name.end()) {
            throw Error(RWKV5_ERR_BAD_ARCHIVE, where + " refers to storage '" + p.storage_key +
                                                   "' but the archive has no entry '" + entry_name + "'");
        }
        const ZipEntry &entry = entries[found->second];
        require_stored(entry, path);
        if (p.storage_numel > entry.size / elem) {
            throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": entry '" + entry_name + "' holds " +
                                                   std::to_string(entry.size) + " bytes but tensor '" + p.name +
                                                   "' declares a storage of " + std::to_string(p.storage_numel) +
                                                   " elements of " + std::to_string(elem) + " bytes");
        }

        uint64_t numel = 1;
        for (const int64_t dim : p.shape) {
            if (__builtin_mul_overflow(numel, uint64_t(dim), &numel)) {
                throw Error(RWKV5_ERR_BAD_SHAPE, where + " has an impossible shape " + shape_string(p.shape));
            }
        }
        // Row-major strides; a dimension of size 1 may carry any stride (torch's own rule).
        uint64_t expected = 1;
        for (size_t d = p.shape.size(); d-- > 0 && numel > 0;) {
            if (p.shape[d] != 1 && uint64_t(p.stride[d]) != expected) {
                throw Error(RWKV5_ERR_BAD_SHAPE, where + " is not contiguous (shape " + shape_string(p.shape) +
                                                     ", stride " + shape_string(p.stride) +
                                                     "); save it after .contiguous()");
            }
            expected *= uint64_t(p.shape[d]);
        }
        if (numel > 0 && (p.storage_offset > p.storage_numel || numel > p.storage_numel - p.storage_offset)) {
            throw Error(RWKV5_ERR_BAD_SHAPE, where + " (shape " + shape_string(p.shape) + ", " +
                                                 std::to_string(numel) + " elements from offset " +
                                                 std::to_string(p.storage_offset) + ") lies outside its storage of " +
                                                 std::to_string(p.storage_numel) + " elements");
        }
        const uint64_t byte_offset = numel > 0 ? p.storage_offset * elem : 0;
        archive->index_[p.name] = archive->tensors_.size();
        archive->tensors_.push_back(
            TensorRef{p.name, info->type, p.shape, base + entry.data_offset + byte_offset, numel, found->second});
    }

    archive->path_ = path;
    archive->base_ = mapping.base;
    archive->size_ = mapping.size;
    mapping.base = nullptr;
    return archive;
}

PthArchive::~PthArchive() {
    if (base_) munmap(const_cast<uint8_t *>(base_), size_);
}

void PthArchive::release(const TensorRef &t) const {
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = uintptr_t(t.data) & ~(page - 1), end = uintptr_t(t.data) + t.nbytes();
    // Advice only: a failure leaves the pages resident, which costs memory, not correctness.
    if (end > begin) madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

const TensorRef *PthArchive::find(const std::string &name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace rwkv5
