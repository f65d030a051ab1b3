#include "pth/ZipDirectory.h"

#include <cstring>

#include "Error.h"

namespace rwkv5 {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint64_t kEocdSize = 22;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kZip64EocdSize = 56;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint16_t kZip64ExtraId = 0x0001;

uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t *p) { return uint32_t(le16(p)) | (uint32_t(le16(p + 2)) << 16); }
uint64_t le64(const uint8_t *p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }

[[noreturn]] void fail(const std::string &path, const std::string &what) {
    throw Error(RWKV5_ERR_BAD_ARCHIVE, path + ": " + what);
}

// True when [offset, offset + length) lies inside a file of `size` bytes.
bool fits(uint64_t offset, uint64_t length, uint64_t size) { return offset <= size && length <= size - offset; }

struct Directory {
    uint64_t entries;
    uint64_t offset;
    uint64_t size;
};

// The end-of-central-directory record sits in the last 22 + 65535 bytes (its
// comment is at most 65535 bytes); the last candidate whose comment reaches
// exactly the end of the file wins, so that bytes in an entry cannot fake one.
Directory find_directory(const uint8_t *base, uint64_t size, const std::string &path) {
    uint64_t eocd = UINT64_MAX;
    if (size >= kEocdSize) {
        const uint64_t lowest = size - kEocdSize > 65535 ? size - kEocdSize - 65535 : 0;
        for (uint64_t pos = size - kEocdSize + 1; pos-- > lowest;) {
            if (le32(base + pos) == kEocdSig && pos + kEocdSize + le16(base + pos + 20) == size) {
                eocd = pos;
                break;
            }
        }
    }
    if (eocd == UINT64_MAX) {
        if (size >= 4 && le32(base) == kLocalHeaderSig) {
            fail(path, "truncated: the file starts like a ZIP archive but its end-of-central-directory record "
                       "is missing (" + std::to_string(size) + " bytes; an incomplete download or copy?)");
        }
        fail(path, "not a ZIP archive (no end-of-central-directory record); is this a .pth checkpoint?");
    }
    const uint8_t *e = base + eocd;
    if (le16(e + 4) != 0 || le16(e + 6) != 0) fail(path, "multi-disk (split) ZIP archives are not supported");
    Directory dir{le16(e + 10), le32(e + 16), le32(e + 12)};
    // torch always writes the Zip64 locator; other writers only when a field overflows.
    if (eocd >= kZip64LocatorSize && le32(e - kZip64LocatorSize) == kZip64LocatorSig) {
        const uint64_t record = le64(e - kZip64LocatorSize + 8);
        if (!fits(record, kZip64EocdSize, eocd - kZip64LocatorSize) || le32(base + record) != kZip64EocdSig) {
            fail(path, "corrupt Zip64 end-of-central-directory locator (record offset " + std::to_string(record) +
                           " holds no Zip64 record)");
        }
        const uint8_t *z = base + record;
        dir = {le64(z + 32), le64(z + 48), le64(z + 40)};
        if (!fits(dir.offset, dir.size, record)) {
            fail(path, "truncated or corrupt: the central directory (" + std::to_string(dir.size) + " bytes at offset " +
                           std::to_string(dir.offset) + ") does not end before its Zip64 record at byte " +
                           std::to_string(record));
        }
    } else {
        if (dir.entries == 0xFFFF || dir.offset == 0xFFFFFFFF || dir.size == 0xFFFFFFFF) {
            fail(path, "the end-of-central-directory record needs Zip64 but the Zip64 locator is missing");
        }
        if (!fits(dir.offset, dir.size, eocd)) {
            fail(path, "truncated or corrupt: the central directory (" + std::to_string(dir.size) + " bytes at offset " +
                           std::to_string(dir.offset) + ") does not end before the end record at byte " +
                           std::to_string(eocd));
        }
    }
    return dir;
}

// Replaces the 32-bit fields that read 0xFFFFFFFF by the u64 values of the
// Zip64 extra field, in the order of the spec.
void apply_zip64_extra(const uint8_t *extra, uint64_t extra_len, uint64_t *usize, uint64_t *csize, uint64_t *offset,
                       const std::string &path, const std::string &name) {
    uint64_t pos = 0;
    while (pos + 4 <= extra_len) {
        const uint16_t id = le16(extra + pos);
        const uint16_t len = le16(extra + pos + 2);
        if (pos + 4 + len > extra_len) break;
        if (id == kZip64ExtraId) {
            const uint8_t *field = extra + pos + 4;
            uint64_t used = 0;
            for (uint64_t *value : {usize, csize, offset}) {
                if (*value != 0xFFFFFFFF) continue;
                if (used + 8 > len) fail(path, "entry '" + name + "': Zip64 extra field too short");
                *value = le64(field + used);
                used += 8;
            }
            return;
        }
        pos += 4 + len;
    }
    if (*usize == 0xFFFFFFFF || *csize == 0xFFFFFFFF || *offset == 0xFFFFFFFF) {
        fail(path, "entry '" + name + "' needs a Zip64 extra field but has none");
    }
}

}  // namespace

std::vector<ZipEntry> read_zip_directory(const uint8_t *base, uint64_t size, const std::string &path) {
    const Directory dir = find_directory(base, size, path);
    // A central header has at least 46 bytes: this bounds the count a corrupt record can claim.
    if (dir.entries > dir.size / kCentralHeaderSize) {
        fail(path, "corrupt central directory: " + std::to_string(dir.entries) + " entries cannot fit in " +
                       std::to_string(dir.size) + " bytes");
    }
    std::vector<ZipEntry> entries;
    entries.reserve(dir.entries);
    const uint8_t *cd = base + dir.offset;
    uint64_t pos = 0;
    for (uint64_t i = 0; i < dir.entries; i++) {
        if (!fits(pos, kCentralHeaderSize, dir.size) || le32(cd + pos) != kCentralHeaderSig) {
            fail(path, "corrupt central directory: entry " + std::to_string(i) + " at byte " +
                           std::to_string(dir.offset + pos) + " has no central file header");
        }
        const uint8_t *h = cd + pos;
        const uint16_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
        if (!fits(pos + kCentralHeaderSize, uint64_t(name_len) + extra_len + comment_len, dir.size)) {
            fail(path, "corrupt central directory: entry " + std::to_string(i) + " runs past its end");
        }
        ZipEntry entry;
        entry.name.assign(reinterpret_cast<const char *>(h + kCentralHeaderSize), name_len);
        entry.flags = le16(h + 8);
        entry.method = le16(h + 10);
        entry.crc32 = le32(h + 16);
        uint64_t csize = le32(h + 20), usize = le32(h + 24), local = le32(h + 42);
        apply_zip64_extra(h + kCentralHeaderSize + name_len, extra_len, &usize, &csize, &local, path, entry.name);
        entry.size = csize;
        if (!fits(local, kLocalHeaderSize, size)) {
            fail(path, "truncated: entry '" + entry.name + "' has its local header at byte " + std::to_string(local) +
                           " but the file has " + std::to_string(size) + " bytes");
        }
        const uint8_t *l = base + local;
        if (le32(l) != kLocalHeaderSig) {
            fail(path, "corrupt archive: entry '" + entry.name + "' points at byte " + std::to_string(local) +
                           ", which holds no local file header");
        }
        const uint16_t local_name_len = le16(l + 26), local_extra_len = le16(l + 28);
        entry.data_offset = local + kLocalHeaderSize + local_name_len + local_extra_len;
        if (local_name_len != name_len ||
            (fits(local + kLocalHeaderSize, name_len, size) &&
             std::memcmp(l + kLocalHeaderSize, entry.name.data(), name_len) != 0)) {
            fail(path, "corrupt archive: the local header of entry '" + entry.name + "' names another file");
        }
        if (!fits(entry.data_offset, entry.size, size)) {
            const bool overflows = entry.size > UINT64_MAX - entry.data_offset;
            fail(path, "truncated: entry '" + entry.name + "' ends at byte " +
                           (overflows ? "2^64 or beyond" : std::to_string(entry.data_offset + entry.size)) +
                           " but the file has " + std::to_string(size) + " bytes");
        }
        entries.push_back(std::move(entry));
        pos += kCentralHeaderSize + name_len + extra_len + comment_len;
    }
    return entries;
}

}  // namespace rwkv5
