// ThreadPool: every job of every run executes exactly once, and run() returns
// only after all of them finished, across many short back-to-back runs (the
// pattern of a decode step: several small matmuls per layer). More threads
// than cores makes late-waking workers, the case a stale claim would break.
#include <atomic>
#include <thread>
#include <vector>

#include "ThreadPool.h"
#include "test_util.h"

int main() {
    for (int threads : {2, 4}) {
        rwkv5::ThreadPool pool(threads);
        std::vector<std::atomic<int>> ran(64);
        int bad_runs = 0;
        for (int run = 0; run < 5000; ++run) {
            const int64_t n_jobs = 2 + run % 63;
            for (int64_t j = 0; j < n_jobs; ++j) ran[size_t(j)].store(0, std::memory_order_relaxed);
            pool.run(n_jobs, [&](int64_t job) {
                // A little work so that workers overlap the caller's next run.
                if (job % 7 == 0) std::this_thread::yield();
                ran[size_t(job)].fetch_add(1, std::memory_order_relaxed);
            });
            for (int64_t j = 0; j < n_jobs; ++j) {
                if (ran[size_t(j)].load(std::memory_order_relaxed) != 1) {
                    ++bad_runs;
                    break;
                }
            }
        }
        CHECK_MSG(bad_runs == 0, std::to_string(bad_runs) + " runs with a job run not exactly once (threads " + std::to_string(threads) + ")");
    }
    return test::finish("test_thread_pool");
}
