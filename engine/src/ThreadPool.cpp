#include "ThreadPool.h"

#include <chrono>
#include <sched.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RWKV5_PAUSE() _mm_pause()
#else
#define RWKV5_PAUSE() std::this_thread::yield()
#endif

namespace rwkv5 {

namespace {
// How long an idle worker spins before sleeping: longer than the gap between
// two matrices of one step, shorter than a human-visible delay.
constexpr auto kSpinTime = std::chrono::microseconds(200);

uint32_t generation_of(uint64_t state) { return uint32_t(state >> 32); }

// The "next job" of a closed run: at or past any run's job count.
constexpr uint64_t kNoJobs = 0xFFFFFFFFu;
}  // namespace

int hardware_threads() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? int(n) : 1;
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : hardware_threads()) {
    workers_.reserve(size_t(n_threads_ - 1));
    try {
        for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_main(); });
    } catch (...) {
        stop_.store(true);
        wake_all();
        for (auto &w : workers_) w.join();
        throw;
    }
}

ThreadPool::~ThreadPool() {
    stop_.store(true);
    wake_all();
    for (auto &w : workers_) w.join();
}

void ThreadPool::wake_all() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++generation_;
        state_.store(uint64_t(generation_) << 32);
    }
    wake_.notify_all();
}

void ThreadPool::work(uint32_t generation) {
    for (;;) {
        uint64_t v = state_.load(std::memory_order_acquire);
        if (generation_of(v) != generation) return;
        // The caller closes the previous run (state_ = its generation, all
        // jobs taken) before it writes n_jobs_ (release); so a worker that
        // reads the next run's n_jobs_ here (acquire) fails the CAS below
        // with its stale `v`, and never runs a job twice or counts one into
        // the wrong run.
        if (uint32_t(v) >= n_jobs_.load(std::memory_order_acquire)) return;
        if (!state_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
        try {
            fn_(ctx_, int64_t(uint32_t(v)));
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
        done_.fetch_add(1, std::memory_order_release);
    }
}

void ThreadPool::worker_main() {
    uint32_t seen = 0;
    for (;;) {
        auto start = std::chrono::steady_clock::now();
        int spins = 0;
        while (generation_of(state_.load(std::memory_order_acquire)) == seen) {
            RWKV5_PAUSE();
            if (++spins % 256 == 0 && std::chrono::steady_clock::now() - start > kSpinTime) {
                std::unique_lock<std::mutex> lock(mutex_);
                // seq_cst increment then state read pairs with the caller's
                // state store then sleepers_ read: no wake-up is lost.
                sleepers_.fetch_add(1);
                wake_.wait(lock, [&] { return generation_of(state_.load()) != seen; });
                sleepers_.fetch_sub(1);
                break;
            }
        }
        if (stop_.load()) return;
        seen = generation_of(state_.load(std::memory_order_acquire));
        work(seen);
    }
}

void ThreadPool::run_erased(int64_t n_jobs, JobFn fn, void *ctx) {
    if (n_jobs <= 0) return;
    if (n_jobs == 1 || workers_.empty()) {
        for (int64_t j = 0; j < n_jobs; ++j) fn(ctx, j);
        return;
    }
    // Close the previous run before touching its fields: a straggler that
    // loaded its state word can no longer claim anything.
    state_.store((uint64_t(generation_) << 32) | kNoJobs);
    fn_ = fn;
    ctx_ = ctx;
    error_ = nullptr;
    n_jobs_.store(uint32_t(n_jobs), std::memory_order_release);
    done_.store(0, std::memory_order_relaxed);
    ++generation_;
    state_.store(uint64_t(generation_) << 32);
    if (sleepers_.load() > 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        wake_.notify_all();
    }
    work(generation_);
    int spins = 0;
    while (done_.load(std::memory_order_acquire) != n_jobs) {
        RWKV5_PAUSE();
        // A worker descheduled inside a job on a busy host: give it the core.
        if (++spins % 1024 == 0) std::this_thread::yield();
    }
    if (error_) {
        std::exception_ptr e = error_;
        error_ = nullptr;
        std::rethrow_exception(e);
    }
}

}  // namespace rwkv5
