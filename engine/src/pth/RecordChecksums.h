// The CRC-32 of every ZIP record of a checkpoint, checked while the loader
// reads the bytes anyway: the loader hands over the CRC of each tensor it
// read, a record that one tensor covers whole is checked against it, and any
// other record (the pickle, a shared or partly used storage, a tensor the
// model does not use) is read once more at the end. A flipped byte in a file
// of the right size is refused here instead of becoming a different model.
#pragma once

#include <cstdint>
#include <vector>

#include "pth/PthArchive.h"

namespace rwkv5 {

class ThreadPool;

// CRC-32/IEEE (the ZIP polynomial; zlib's implementation) of `size` bytes, continuing `crc`.
uint32_t crc32_update(uint32_t crc, const uint8_t *data, uint64_t size);
// The CRC-32 of A followed by B, from crc(A), crc(B) and B's length.
uint32_t crc32_concat(uint32_t crc_a, uint32_t crc_b, uint64_t size_b);

class RecordChecksums {
public:
    explicit RecordChecksums(const PthArchive &archive);
    // `crc` is the CRC-32 of all of `tensor`'s bytes. Throws rwkv5::Error
    // (RWKV5_ERR_CHECKSUM) naming the tensor when its record does not match.
    void tensor_read(const TensorRef &tensor, uint32_t crc);
    // Checks every record tensor_read() did not cover, spread over `pool`.
    void verify_rest(ThreadPool &pool);

private:
    [[noreturn]] void fail(size_t entry, uint32_t actual) const;
    const PthArchive &archive_;
    std::vector<bool> checked_;
};

}  // namespace rwkv5
