// The ZIP layer of a `.pth` file (docs/rwkv5.md §3.1): the central directory of a
// memory-mapped archive, with Zip64, every range checked against the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rwkv5 {

struct ZipEntry {
    std::string name;
    uint16_t method;       // 0 = stored, the only method `.pth` files use
    uint16_t flags;        // general-purpose bit flags of the central directory
    uint64_t data_offset;  // from the file start, after the LOCAL header's name and extra
    uint64_t size;         // compressed size (= the data's size for stored entries)
    uint32_t crc32;        // CRC-32/IEEE of the data, from the central directory
};

// Parses the directory of the archive mapped at `base` (`size` bytes). Throws
// rwkv5::Error(RWKV5_ERR_BAD_ARCHIVE) with a message starting with `path`.
// Every returned entry's data lies inside the file.
std::vector<ZipEntry> read_zip_directory(const uint8_t *base, uint64_t size, const std::string &path);

}  // namespace rwkv5
