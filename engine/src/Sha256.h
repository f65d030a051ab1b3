// SHA-256 (FIPS 180-4), incremental. Used for the model id, not for security.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace rwkv5 {

class Sha256 {
public:
    Sha256();
    void update(const void *data, size_t size);
    void update(const std::string &text) { update(text.data(), text.size()); }
    // The 32-byte digest; the object must not be updated afterwards.
    std::array<uint8_t, 32> finish();
    // finish() as 64 lowercase hex digits.
    std::string finish_hex();

private:
    void compress(const uint8_t *block);
    uint32_t h_[8];
    uint8_t buffer_[64];
    size_t buffered_ = 0;
    uint64_t total_bytes_ = 0;
};

}  // namespace rwkv5
