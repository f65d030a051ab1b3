// An owned, 64-byte aligned, uninitialised byte buffer (SIMD rows and cache
// lines). Throws std::bad_alloc.
//
// Buffers of 2 MiB and more are anonymous mappings aligned to 2 MiB and
// advised for transparent huge pages: the weights, states and the bandwidth
// probe all stream through such memory, and with 4 KiB pages a decode step
// spends a measurable share of its time in (virtualised) page walks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#include <sys/mman.h>

namespace rwkv5 {

class AlignedBuffer {
public:
    static constexpr size_t kHugePage = size_t(1) << 21;

    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t bytes) : size_(bytes) {
        // One spare cache line: kernels may read a full vector at the end.
        const size_t need = (bytes + 63) / 64 * 64 + 64;
        if (need < kHugePage) {
            data_ = std::aligned_alloc(64, need);
            if (!data_) throw std::bad_alloc();
            return;
        }
        mapped_ = (need + kHugePage - 1) / kHugePage * kHugePage;
        void *p = mmap(nullptr, mapped_ + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        // Trim to a 2 MiB-aligned range so every page can be a huge one.
        const uintptr_t start = uintptr_t(p), aligned = (start + kHugePage - 1) & ~uintptr_t(kHugePage - 1);
        if (aligned > start) munmap(p, aligned - start);
        munmap(reinterpret_cast<void *>(aligned + mapped_), start + kHugePage - aligned);
        data_ = reinterpret_cast<void *>(aligned);
#ifdef MADV_HUGEPAGE
        madvise(data_, mapped_, MADV_HUGEPAGE);  // advice only: 4 KiB pages still work
#endif
    }
    AlignedBuffer(AlignedBuffer &&o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), mapped_(std::exchange(o.mapped_, 0)) {}
    AlignedBuffer &operator=(AlignedBuffer &&o) noexcept {
        if (this != &o) {
            release();
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
            mapped_ = std::exchange(o.mapped_, 0);
        }
        return *this;
    }
    AlignedBuffer(const AlignedBuffer &) = delete;
    AlignedBuffer &operator=(const AlignedBuffer &) = delete;
    ~AlignedBuffer() { release(); }

    void *data() const { return data_; }
    template <class T>
    T *as() const { return static_cast<T *>(data_); }
    size_t size() const { return size_; }

private:
    void release() {
        if (!data_) return;
        if (mapped_) {
            munmap(data_, mapped_);
        } else {
            std::free(data_);
        }
        data_ = nullptr;
    }

    void *data_ = nullptr;
    size_t size_ = 0;
    size_t mapped_ = 0;  // bytes mapped when the buffer is a mapping, else 0
};

}  // namespace rwkv5
