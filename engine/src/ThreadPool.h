// A persistent pool of compute threads. A decode step of a small model is a
// few microseconds of work per matrix, so waking workers must be cheap:
// workers spin briefly on a generation counter before sleeping on a
// condition variable, and the caller works on the jobs too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace rwkv5 {

class ThreadPool {
public:
    // `n_threads` counts the calling thread; 0 = all cores.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool &operator=(const ThreadPool &) = delete;

    int size() const { return n_threads_; }

    // Calls fn(job) for every job in [0, n_jobs), spread over the pool, and
    // returns when all are done. The first exception thrown by a job is
    // rethrown here (the remaining jobs still run).
    template <class F>
    void run(int64_t n_jobs, F &&fn) {
        using Fn = std::remove_reference_t<F>;
        run_erased(n_jobs, [](void *ctx, int64_t job) { (*static_cast<Fn *>(ctx))(job); }, &fn);
    }

private:
    using JobFn = void (*)(void *, int64_t);
    void run_erased(int64_t n_jobs, JobFn fn, void *ctx);
    void work(uint32_t generation);
    void worker_main();
    void wake_all();

    int n_threads_;
    std::vector<std::thread> workers_;
    // Run generation (high 32 bits) and next unclaimed job (low 32 bits) in
    // one word: a job is claimed by CAS, so a worker that wakes late can never
    // claim a job of another run, and the caller never waits for a worker
    // that has not started (on a busy host it may not run for milliseconds).
    std::atomic<uint64_t> state_{0};
    std::atomic<uint32_t> n_jobs_{0};
    std::atomic<int64_t> done_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<bool> stop_{false};
    uint32_t generation_ = 0;  // caller side
    JobFn fn_ = nullptr;
    void *ctx_ = nullptr;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::exception_ptr error_;
};

// Cores available to this process.
int hardware_threads();

}  // namespace rwkv5
