// CUDA/cuBLAS status checks that turn failures into rwkv5::Error, plus the
// owned device and pinned host buffers every CUDA file of the backend allocates through.
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

// What CudaBuffer allocates: device memory (cudaMalloc), freed on the device
// it came from, or page-locked host memory (cudaMallocHost) for asynchronous
// copies.
struct DeviceMemory {
    static constexpr const char *kAllocName = "cudaMalloc";
    static cudaError_t allocate(void **ptr, size_t bytes) { return cudaMalloc(ptr, bytes); }
    static void deallocate(void *ptr) { cudaFree(ptr); }
};
struct PinnedMemory {
    static constexpr const char *kAllocName = "cudaMallocHost";
    static cudaError_t allocate(void **ptr, size_t bytes) { return cudaMallocHost(ptr, bytes); }
    static void deallocate(void *ptr) { cudaFreeHost(ptr); }
};

// An owned allocation of `Memory`; move-only.
template <class Memory>
class CudaBuffer {
public:
    CudaBuffer() = default;
    explicit CudaBuffer(size_t bytes) : size_(bytes) {
        if (bytes)
            check(Memory::allocate(&ptr_, bytes),
                  (std::string(Memory::kAllocName) + " of " + std::to_string(bytes) + " bytes").c_str());
    }
    CudaBuffer(CudaBuffer &&o) noexcept : ptr_(o.ptr_), size_(o.size_) { o.ptr_ = nullptr; o.size_ = 0; }
    CudaBuffer &operator=(CudaBuffer &&o) noexcept {
        if (this != &o) {
            release();
            ptr_ = o.ptr_;
            size_ = o.size_;
            o.ptr_ = nullptr;
            o.size_ = 0;
        }
        return *this;
    }
    ~CudaBuffer() { release(); }
    template <class T>
    T *as() const { return static_cast<T *>(ptr_); }
    size_t size() const { return size_; }

private:
    void release() {
        if (ptr_) Memory::deallocate(ptr_);
        ptr_ = nullptr;
    }
    void *ptr_ = nullptr;
    size_t size_ = 0;
};

using DeviceBuffer = CudaBuffer<DeviceMemory>;
using PinnedBuffer = CudaBuffer<PinnedMemory>;

}  // namespace rwkv5::cuda
