// CUDA/cuBLAS status checks that turn failures into rwkv5::Error, plus the
// small device buffer every CUDA file of the backend allocates through.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "Error.h"

namespace rwkv5::cuda {

[[noreturn]] inline void fail_cuda(cudaError_t e, const char *what) {
    const rwkv5_status code = e == cudaErrorMemoryAllocation ? RWKV5_ERR_OUT_OF_MEMORY : RWKV5_ERR_BACKEND;
    throw Error(code, std::string("CUDA: ") + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

inline void check(cudaError_t e, const char *what) {
    if (e != cudaSuccess) fail_cuda(e, what);
}

inline void check(cublasStatus_t s, const char *what) {
    if (s != CUBLAS_STATUS_SUCCESS) {
        const rwkv5_status code = s == CUBLAS_STATUS_ALLOC_FAILED ? RWKV5_ERR_OUT_OF_MEMORY : RWKV5_ERR_BACKEND;
        throw Error(code, std::string("cuBLAS: ") + what + ": " + cublasGetStatusName(s) + " (" +
                              cublasGetStatusString(s) + ")");
    }
}

// An owned device allocation (cudaMalloc); freed on the device it came from.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t bytes) : size_(bytes) {
        if (bytes) check(cudaMalloc(&ptr_, bytes), ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str());
    }
    DeviceBuffer(DeviceBuffer &&o) noexcept : ptr_(o.ptr_), size_(o.size_) { o.ptr_ = nullptr; o.size_ = 0; }
    DeviceBuffer &operator=(DeviceBuffer &&o) noexcept {
        if (this != &o) {
            release();
            ptr_ = o.ptr_;
            size_ = o.size_;
            o.ptr_ = nullptr;
            o.size_ = 0;
        }
        return *this;
    }
    ~DeviceBuffer() { release(); }
    template <class T>
    T *as() const { return static_cast<T *>(ptr_); }
    size_t size() const { return size_; }

private:
    void release() {
        if (ptr_) cudaFree(ptr_);
        ptr_ = nullptr;
    }
    void *ptr_ = nullptr;
    size_t size_ = 0;
};

// Page-locked host memory (cudaMallocHost) for asynchronous copies.
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    explicit PinnedBuffer(size_t bytes) : size_(bytes) {
        if (bytes) check(cudaMallocHost(&ptr_, bytes), ("cudaMallocHost of " + std::to_string(bytes) + " bytes").c_str());
    }
    PinnedBuffer(PinnedBuffer &&o) noexcept : ptr_(o.ptr_), size_(o.size_) { o.ptr_ = nullptr; o.size_ = 0; }
    PinnedBuffer &operator=(PinnedBuffer &&o) noexcept {
        if (this != &o) {
            release();
            ptr_ = o.ptr_;
            size_ = o.size_;
            o.ptr_ = nullptr;
            o.size_ = 0;
        }
        return *this;
    }
    ~PinnedBuffer() { release(); }
    template <class T>
    T *as() const { return static_cast<T *>(ptr_); }
    size_t size() const { return size_; }

private:
    void release() {
        if (ptr_) cudaFreeHost(ptr_);
        ptr_ = nullptr;
    }
    void *ptr_ = nullptr;
    size_t size_ = 0;
};

}  // namespace rwkv5::cuda
