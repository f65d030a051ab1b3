// What the CRC-32 check costs at load: the same file loaded with and without
// it, alternately (one pair after another, so both see the same machine), and
// the median ratio of the pairs, in wall time and in CPU time (user + system
// of this process: steadier than wall time on a machine others are loading).
// Not a test: speed is never asserted.
//
//   bench_load MODEL.pth [--pairs N] [--threads N] [--fp32]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "rwkv5.h"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval &t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Timing {
    double wall, cpu;
};

Timing load(const char *path, rwkv5_model_params params) {
    rwkv5_error err{};
    const double t0 = now(), c0 = cpu_seconds();
    rwkv5_model *model = rwkv5_model_load(path, &params, &err);
    const Timing timing{now() - t0, cpu_seconds() - c0};
    if (!model) {
        std::fprintf(stderr, "load failed (%d): %s\n", int(err.code), err.message);
        std::exit(1);
    }
    rwkv5_model_free(model);
    return timing;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL.pth [--pairs N] [--threads N] [--fp32]\n", argv[0]);
        return 2;
    }
    rwkv5_model_params params = rwkv5_model_default_params();
    params.backend = RWKV5_BACKEND_CPU;
    int pairs = 7;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--pairs" && i + 1 < argc) pairs = std::max(1, std::atoi(argv[++i]));
        else if (a == "--threads" && i + 1 < argc) params.n_threads = std::atoi(argv[++i]);
        else if (a == "--fp32") params.weight_type = RWKV5_WEIGHTS_FP32;
    }
    rwkv5_model_params unchecked = params;
    unchecked.verify_crc = false;
    load(argv[1], params);  // warm-up: brings the file into the page cache
    std::vector<double> with, without, wall_ratios, cpu_ratios;
    for (int p = 0; p < pairs; ++p) {
        // Alternate which goes first, so neither always follows the other.
        const Timing a = load(argv[1], p % 2 ? unchecked : params);
        const Timing b = load(argv[1], p % 2 ? params : unchecked);
        const Timing on = p % 2 ? b : a, off = p % 2 ? a : b;
        with.push_back(on.wall);
        without.push_back(off.wall);
        wall_ratios.push_back(on.wall / off.wall);
        cpu_ratios.push_back(on.cpu / off.cpu);
        std::printf("pair %d: CRC on %.3f s (cpu %.3f s), off %.3f s (cpu %.3f s)\n", p + 1, on.wall, on.cpu, off.wall,
                    off.cpu);
    }
    std::printf("%s\nload, median of %d pairs: CRC on %.3f s, off %.3f s; ratio on/off: wall %.3f, cpu %.3f\n",
                rwkv5_system_info(), pairs, median(with), median(without), median(wall_ratios), median(cpu_ratios));
    return 0;
}
