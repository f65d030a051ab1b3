// The loader's CRC-32 (carry-less-multiplication folding where the CPU has it)
// equals zlib's crc32 for every length, alignment and starting value, and
// crc32_concat joins two parts as one.
#include <zlib.h>

#include <random>
#include <vector>

#include "pth/RecordChecksums.h"
#include "test_util.h"

int main() {
    std::mt19937 rng(42);
    std::vector<uint8_t> buffer(70000);
    for (uint8_t &byte : buffer) byte = uint8_t(rng());
    int compared = 0;
    for (size_t size : {0, 1, 15, 16, 63, 64, 65, 79, 80, 127, 128, 129, 255, 256, 1000, 4096, 4097, 65536, 69000}) {
        for (size_t offset : {0, 1, 3, 8, 15}) {
            for (uint32_t start : {0u, 0xffffffffu, 0x12345678u}) {
                const uint8_t *data = buffer.data() + offset;
                const uint32_t expected = uint32_t(crc32_z(start, data, size));
                CHECK_MSG(rwkv5::crc32_update(start, data, size) == expected,
                          "size " + std::to_string(size) + " offset " + std::to_string(offset));
                compared++;
            }
        }
    }
    // The check value of the CRC-32/IEEE catalogue entry.
    const char *digits = "123456789";
    CHECK(rwkv5::crc32_update(0, reinterpret_cast<const uint8_t *>(digits), 9) == 0xcbf43926u);
    for (size_t split : {0, 1, 100, 4096, 69999}) {
        const uint32_t a = rwkv5::crc32_update(0, buffer.data(), split);
        const uint32_t b = rwkv5::crc32_update(0, buffer.data() + split, buffer.size() - split);
        CHECK(rwkv5::crc32_concat(a, b, buffer.size() - split) == uint32_t(crc32_z(0, buffer.data(), buffer.size())));
    }
    std::printf("compared %d CRCs with zlib's\n", compared);
    return test::finish("test_crc32");
}
