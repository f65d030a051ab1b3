// The memory budget of a load (MemoryBudget.h): the bytes planned from the
// shape alone equal what a load then reports, for every precision and
// fixture; RWKV5_WEIGHTS_AUTO takes 16-bit weights when they fit the budget
// and int8 when only those do; a load over budget is refused before anything
// is allocated, with a message naming the bytes and what would fit; and the
// free host memory is read from /proc/meminfo within every memory cgroup's
// headroom (v1 and v2, ancestors included). A context whose slots cannot fit
// the free memory is refused too, naming how many would.
#include <filesystem>
#include <string>

#include "Error.h"
#include "ForwardFixture.h"
#include "MemoryBudget.h"
#include "WeightBytes.h"

namespace {

namespace fs = std::filesystem;

rwkv5_model *load(const std::string &path, rwkv5_weight_type type, uint64_t budget, rwkv5_error &err) {
    rwkv5_model_params p = rwkv5_model_default_params();
    p.weight_type = type;
    p.backend = RWKV5_BACKEND_CPU;
    p.memory_budget = budget;
    err = {};
    return rwkv5_model_load(path.c_str(), &p, &err);
}

rwkv5_model_info info_of(rwkv5_model *m) {
    rwkv5_model_info info{};
    rwkv5_model_get_info(m, &info);
    return info;
}

bool contains(const char *message, const std::string &part) { return std::string(message).find(part) != std::string::npos; }

void planned_bytes_match_the_load(const std::string &path) {
    for (rwkv5_weight_type type : {RWKV5_WEIGHTS_FP32, RWKV5_WEIGHTS_16BIT, RWKV5_WEIGHTS_INT8}) {
        rwkv5_error err{};
        rwkv5_model *m = load(path, type, 0, err);
        CHECK_MSG(m != nullptr, path + ": " + err.message);
        if (!m) continue;
        const rwkv5_model_info info = info_of(m);
        const uint64_t planned = rwkv5::host_weight_bytes(fx::shape_of(info), type);
        CHECK_MSG(planned == info.weight_bytes, path + ": planned " + std::to_string(planned) + " bytes, loaded " +
                                                    std::to_string(info.weight_bytes) + " (type " +
                                                    std::to_string(int(type)) + ")");
        CHECK(info.memory_budget > 0);  // measured on Linux
        rwkv5_model_free(m);
    }
}

// AUTO against budgets around the fixture's 16-bit and int8 sizes.
void auto_follows_the_budget(const std::string &path) {
    rwkv5_error err{};
    rwkv5_model *probe = load(path, RWKV5_WEIGHTS_16BIT, 0, err);
    CHECK_MSG(probe != nullptr, err.message);
    if (!probe) return;
    const rwkv5::ModelShape s = fx::shape_of(info_of(probe));
    rwkv5_model_free(probe);
    const uint64_t b16 = rwkv5::host_weight_bytes(s, RWKV5_WEIGHTS_16BIT);
    const uint64_t b8 = rwkv5::host_weight_bytes(s, RWKV5_WEIGHTS_INT8);
    CHECK(b8 < b16);

    rwkv5_model *m = load(path, RWKV5_WEIGHTS_AUTO, b16, err);
    CHECK_MSG(m && info_of(m).weight_type == RWKV5_WEIGHTS_16BIT, "AUTO with room for 16-bit weights");
    if (m) CHECK(info_of(m).memory_budget == b16);
    rwkv5_model_free(m);

    m = load(path, RWKV5_WEIGHTS_AUTO, b16 - 1, err);
    CHECK_MSG(m && info_of(m).weight_type == RWKV5_WEIGHTS_INT8, "AUTO with room for int8 weights only");
    if (m) CHECK(info_of(m).weight_bytes == b8);
    rwkv5_model_free(m);

    m = load(path, RWKV5_WEIGHTS_AUTO, 0, err);  // the measured budget: a fixture fits in 16 bits
    CHECK_MSG(m && info_of(m).weight_type == RWKV5_WEIGHTS_16BIT, "AUTO with the host's free memory");
    rwkv5_model_free(m);

    m = load(path, RWKV5_WEIGHTS_AUTO, b8 - 1, err);
    CHECK(m == nullptr && err.code == RWKV5_ERR_OUT_OF_MEMORY);
    CHECK_MSG(contains(err.message, path) && contains(err.message, "int8 weights need") &&
                  contains(err.message, "free some memory"),
              err.message);
    rwkv5_model_free(m);

    m = load(path, RWKV5_WEIGHTS_16BIT, b16 - 1, err);
    CHECK(m == nullptr && err.code == RWKV5_ERR_OUT_OF_MEMORY);
    CHECK_MSG(contains(err.message, "16-bit weights need") && contains(err.message, "as int8 weights they need") &&
                  contains(err.message, "the memory budget asked for"),
              err.message);
    rwkv5_model_free(m);

    m = load(path, RWKV5_WEIGHTS_FP32, b16, err);  // fp32 is never chosen for the caller, nor squeezed in
    CHECK(m == nullptr && err.code == RWKV5_ERR_OUT_OF_MEMORY && contains(err.message, "fp32 weights need"));
    rwkv5_model_free(m);
}

void write(const fs::path &file, const std::string &text) {
    fs::create_directories(file.parent_path());
    test::write_file(file.string(), text.data(), text.size());
}

void free_memory_reads_meminfo_and_cgroups() {
    test::TempDir tmp;
    const fs::path root = tmp.path();
    const uint64_t GB = 1000000000ull;
    write(root / "proc/meminfo", "MemTotal:       24683784 kB\nMemFree:  100 kB\nMemAvailable:   19531250 kB\n");
    // No cgroup file: MemAvailable alone (19531250 kB = 20.0 GB).
    rwkv5::MemoryBudget free = rwkv5::host_free_memory(root.string());
    CHECK(free.bytes == 19531250ull * 1024 && contains(free.source.c_str(), "MemAvailable 20.0 GB"));

    // cgroup v1: the leaf allows 10 GB with 3 GB used, 1 GB of it inactive page cache: 8 GB left.
    write(root / "proc/self/cgroup", "5:cpu,cpuacct:/x\n4:memory:/a/b\n0::/\n");
    const fs::path v1 = root / "sys/fs/cgroup/memory";
    write(v1 / "a/b/memory.limit_in_bytes", std::to_string(10 * GB) + "\n");
    write(v1 / "a/b/memory.usage_in_bytes", std::to_string(3 * GB) + "\n");
    write(v1 / "a/b/memory.stat", "cache 5\ntotal_inactive_file " + std::to_string(GB) + "\n");
    write(v1 / "memory.limit_in_bytes", "9223372036854771712\n");  // the root: no limit
    write(v1 / "memory.usage_in_bytes", "1\n");
    free = rwkv5::host_free_memory(root.string());
    CHECK_MSG(free.bytes == 8 * GB && contains(free.source.c_str(), "cgroup limit of 10.0 GB with 2.0 GB in use"),
              free.source + " " + std::to_string(free.bytes));

    // An ancestor's tighter limit binds: /a allows 6 GB with 1 GB used.
    write(v1 / "a/memory.limit_in_bytes", std::to_string(6 * GB));
    write(v1 / "a/memory.usage_in_bytes", std::to_string(GB));
    free = rwkv5::host_free_memory(root.string());
    CHECK_MSG(free.bytes == 5 * GB, std::to_string(free.bytes));

    // cgroup v2: "max" is no limit; a number is one.
    fs::remove_all(root / "sys");
    write(root / "proc/self/cgroup", "0::/svc/bot\n");
    const fs::path v2 = root / "sys/fs/cgroup";
    write(v2 / "svc/bot/memory.max", "max\n");
    write(v2 / "svc/bot/memory.current", std::to_string(GB));
    free = rwkv5::host_free_memory(root.string());
    CHECK(free.bytes == 19531250ull * 1024);
    write(v2 / "svc/bot/memory.max", std::to_string(4 * GB));
    write(v2 / "svc/bot/memory.stat", "anon 1\ninactive_file " + std::to_string(GB / 2) + "\n");
    free = rwkv5::host_free_memory(root.string());
    CHECK_MSG(free.bytes == 4 * GB - GB / 2, std::to_string(free.bytes));

    // The budget: the caller's as given, else the free memory less the reserve.
    CHECK(rwkv5::load_budget(123, free).bytes == 123);
    CHECK(rwkv5::load_budget(0, free).bytes == free.bytes - rwkv5::kMemoryReserve);
    CHECK(contains(rwkv5::load_budget(0, free).source.c_str(), "reserve"));
    fs::remove_all(root);
}


std::string refusal(int32_t n_slots, uint64_t slot_bytes, uint64_t batch_bytes, uint64_t free) {
    try {
        rwkv5::require_context_fits(n_slots, slot_bytes, batch_bytes, {free, "a test budget"});
    } catch (const rwkv5::Error &e) {
        CHECK(e.code() == RWKV5_ERR_OUT_OF_MEMORY);
        return e.what();
    }
    return "";
}

void contexts_over_the_free_memory_are_refused(const std::string &path) {
    CHECK(refusal(9, 100, 100, 1000).empty());  // exactly full
    const std::string over = refusal(10, 100, 100, 1000);
    CHECK_MSG(contains(over.c_str(), "a context of 10 slots needs") && contains(over.c_str(), "at most 9 slots fit") &&
                  contains(over.c_str(), "a test budget"),
              over.c_str());
    CHECK(contains(refusal(1, 100, 1000, 1000).c_str(), "not even one slot fits"));

    // Through the C API, with the host's free memory: a billion slots (terabytes of state) is a
    // clear error, where zeroing them would have the process killed; a few slots are fine.
    rwkv5_error err{};
    rwkv5_model *m = load(path, RWKV5_WEIGHTS_16BIT, 0, err);
    CHECK_MSG(m != nullptr, err.message);
    if (!m) return;
    rwkv5_context_params cp = rwkv5_context_default_params();
    cp.n_slots = 1 << 30;
    cp.n_threads = 1;
    rwkv5_context *ctx = rwkv5_context_init(m, &cp, &err);
    CHECK(ctx == nullptr && err.code == RWKV5_ERR_OUT_OF_MEMORY);
    CHECK_MSG(contains(err.message, "a context of 1073741824 slots needs") && contains(err.message, "slots fit") &&
                  contains(err.message, "MemAvailable"),
              err.message);
    rwkv5_context_free(ctx);
    cp.n_slots = 4;
    ctx = rwkv5_context_init(m, &cp, &err);
    CHECK_MSG(ctx != nullptr, err.message);
    rwkv5_context_free(ctx);
    rwkv5_model_free(m);
}

}  // namespace

int main() {
    CHECK(rwkv5_model_default_params().memory_budget == 0);  // measure, unless the caller says
    for (const char *model : {"tiny-L3-C128-V1024.bf16.pth", "tiny-L3-C128-V1024.fp16.pth", "tiny-L3-C128-V1024.fp32.pth",
                              "deep-L7-C64-V512.bf16.pth", "world-L2-C64-V65536.bf16.pth"})
        planned_bytes_match_the_load(test::fixture("models/") + model);
    auto_follows_the_budget(test::fixture("models/tiny-L3-C128-V1024.bf16.pth"));
    free_memory_reads_meminfo_and_cgroups();
    contexts_over_the_free_memory_are_refused(test::fixture("models/tiny-L3-C128-V1024.bf16.pth"));
    return test::finish("test_memory_budget");
}
