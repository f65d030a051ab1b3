// An owned, 64-byte aligned, uninitialised byte buffer (SIMD rows and cache
// lines). Throws std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace rwkv5 {

class AlignedBuffer {
public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t bytes) : size_(bytes) {
        void *p = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
        if (!p) throw std::bad_alloc();
        data_.reset(p);
    }
    void *data() const { return data_.get(); }
    template <class T>
    T *as() const { return static_cast<T *>(data_.get()); }
    size_t size() const { return size_; }

private:
    struct Free {
        void operator()(void *p) const { std::free(p); }
    };
    std::unique_ptr<void, Free> data_;
    size_t size_ = 0;
};

}  // namespace rwkv5
