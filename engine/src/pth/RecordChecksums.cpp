#include "pth/RecordChecksums.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "Error.h"
#include "ThreadPool.h"

namespace rwkv5 {
namespace {

// Per job of verify_rest(): large enough that combining is negligible.
constexpr uint64_t kJobBytes = 8ull << 20;

std::string hex32(uint32_t value) {
    char text[11];
    std::snprintf(text, sizeof text, "0x%08x", value);
    return text;
}

}  // namespace

// Crc32Pclmul.cpp
uint32_t crc32_fold_pclmul(uint32_t raw, const uint8_t *data, uint64_t size);

uint32_t crc32_update(uint32_t crc, const uint8_t *data, uint64_t size) {
    static const bool pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    if (pclmul && size >= 64) {
        const uint64_t bulk = size & ~uint64_t(15);
        crc = ~crc32_fold_pclmul(~crc, data, bulk);
        data += bulk;
        size -= bulk;
    }
    return uint32_t(crc32_z(crc, data, z_size_t(size)));
}

uint32_t crc32_concat(uint32_t crc_a, uint32_t crc_b, uint64_t size_b) {
    return uint32_t(crc32_combine(crc_a, crc_b, z_off_t(size_b)));
}

RecordChecksums::RecordChecksums(const PthArchive &archive)
    : archive_(archive), checked_(archive.entries().size(), false) {}

void RecordChecksums::tensor_read(const TensorRef &tensor, uint32_t crc) {
    const ZipEntry &entry = archive_.entries()[tensor.entry];
    if (checked_[tensor.entry] || tensor.data != archive_.data(entry) || tensor.nbytes() != entry.size) return;
    if (crc != entry.crc32) fail(tensor.entry, crc);
    checked_[tensor.entry] = true;
}

void RecordChecksums::verify_rest(ThreadPool &pool) {
    const std::vector<ZipEntry> &entries = archive_.entries();
    for (size_t i = 0; i < entries.size(); ++i) {
        if (checked_[i]) continue;
        const uint8_t *data = archive_.data(entries[i]);
        const uint64_t size = entries[i].size;
        const int64_t jobs = int64_t(std::max<uint64_t>(1, (size + kJobBytes - 1) / kJobBytes));
        std::vector<uint32_t> crcs(size_t(jobs), 0);
        pool.run(jobs, [&](int64_t job) {
            const uint64_t begin = uint64_t(job) * kJobBytes;
            crcs[size_t(job)] = crc32_update(0, data + begin, std::min(size, begin + kJobBytes) - begin);
        });
        uint32_t crc = crcs[0];
        for (int64_t job = 1; job < jobs; ++job) {
            const uint64_t begin = uint64_t(job) * kJobBytes;
            crc = crc32_concat(crc, crcs[size_t(job)], std::min(size, begin + kJobBytes) - begin);
        }
        if (crc != entries[i].crc32) fail(i, crc);
        checked_[i] = true;
    }
}

void RecordChecksums::fail(size_t entry, uint32_t actual) const {
    const ZipEntry &record = archive_.entries()[entry];
    std::vector<std::string> users;
    for (const TensorRef &tensor : archive_.tensors()) {
        if (tensor.entry == entry) users.push_back("'" + tensor.name + "'");
    }
    // One CRC per record: with a storage shared by several tensors, any of them may hold the bad byte.
    std::string what = "record '" + record.name + "'";
    if (users.size() == 1) {
        what = "tensor " + users[0] + " (record '" + record.name + "')";
    } else if (!users.empty()) {
        what += " (the storage of " + std::to_string(users.size()) + " tensors: " + users[0] + ", " + users[1] +
                (users.size() > 2 ? ", ..." : "") + ")";
    }
    throw Error(RWKV5_ERR_CHECKSUM, archive_.path() + ": " + what + " is corrupt: its bytes have CRC-32 " +
                                        hex32(actual) + " but the archive records " + hex32(record.crc32) +
                                        "; the file is damaged (download or copy it again)");
}

}  // namespace rwkv5
