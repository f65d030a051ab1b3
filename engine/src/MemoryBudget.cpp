#include "MemoryBudget.h"

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "Error.h"

namespace rwkv5 {

namespace {

// A cgroup limit this large is "no limit" (v1 writes LONG_MAX rounded to pages).
constexpr uint64_t kNoLimit = 1ull << 60;

bool read_u64(const std::string &file, uint64_t &out) {
    std::ifstream in(file);
    std::string word;
    if (!(in >> word) || word.empty() || word.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoull(word);
    return true;
}

// The value after `key` in a "key value" file (memory.stat), or 0.
uint64_t stat_value(const std::string &file, const std::string &key) {
    std::ifstream in(file);
    std::string name;
    uint64_t value = 0;
    while (in >> name >> value)
        if (name == key) return value;
    return 0;
}

// MemAvailable in bytes, or false.
bool mem_available(const std::string &root, uint64_t &out) {
    std::ifstream in(root + "/proc/meminfo");
    std::string line;
    while (std::getline(in, line)) {
        unsigned long long kb = 0;
        if (std::sscanf(line.c_str(), "MemAvailable: %llu kB", &kb) == 1) {
            out = uint64_t(kb) * 1024;
            return true;
        }
    }
    return false;
}

struct CgroupLayout {
    std::string mount, limit, usage, inactive;
};

// Narrows `best` to the headroom of every limited cgroup from `path` up to the
// mount's root (a limit on any ancestor binds too). A directory that does not
// exist (a namespaced path) is skipped.
void narrow_to_cgroups(const CgroupLayout &c, std::string path, MemoryBudget &best) {
    for (;;) {
        const std::string dir = c.mount + (path == "/" ? "" : path);
        uint64_t limit = 0, usage = 0;
        if (read_u64(dir + "/" + c.limit, limit) && limit < kNoLimit && read_u64(dir + "/" + c.usage, usage)) {
            // Its inactive page cache is reclaimed before the limit bites, like MemAvailable's.
            const uint64_t inactive = stat_value(dir + "/memory.stat", c.inactive);
            const uint64_t used = usage - std::min(usage, inactive);
            const uint64_t headroom = limit - std::min(limit, used);
            if (headroom < best.bytes)
                best = {headroom, "the memory cgroup limit of " + human_bytes(limit) + " with " + human_bytes(used) + " in use"};
        }
        if (path.empty() || path == "/") return;
        const size_t slash = path.rfind('/');
        path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
    char buf[32];
    if (bytes >= 1000000000ull)
        std::snprintf(buf, sizeof buf, "%.1f GB", double(bytes) / 1e9);
    else
        std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / 1e6);
    return buf;
}

MemoryBudget host_free_memory(const std::string &root) {
    MemoryBudget best{UINT64_MAX, ""};
    uint64_t avail = 0;
    if (mem_available(root, avail)) best = {avail, "MemAvailable " + human_bytes(avail)};
    std::ifstream in(root + "/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        // "hierarchy-id:controllers:path"; v2's single hierarchy is "0::path".
        const size_t a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        const std::string id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        if (id == "0" && controllers.empty()) {
            narrow_to_cgroups({root + "/sys/fs/cgroup", "memory.max", "memory.current", "inactive_file"}, path, best);
            continue;
        }
        std::stringstream names(controllers);
        std::string name;
        while (std::getline(names, name, ','))
            if (name == "memory")
                narrow_to_cgroups({root + "/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
                                   "total_inactive_file"},
                                  path, best);
    }
    return best;
}

MemoryBudget load_budget(uint64_t asked, const MemoryBudget &free) {
    if (asked > 0) return {asked, "the memory budget asked for"};
    if (free.source.empty()) return free;  // nothing measured: no limit
    const uint64_t left = free.bytes - std::min(free.bytes, kMemoryReserve);
    return {left, free.source + " less a " + human_bytes(kMemoryReserve) + " reserve for contexts"};
}

namespace {
const char *weights_name(rwkv5_weight_type type) {
    switch (type) {
        case RWKV5_WEIGHTS_FP32: return "fp32";
        case RWKV5_WEIGHTS_16BIT: return "16-bit";
        case RWKV5_WEIGHTS_INT8: return "int8";
        case RWKV5_WEIGHTS_AUTO: break;
    }
    return "auto";
}
}  // namespace

rwkv5_weight_type choose_weight_type(const std::string &path, rwkv5_weight_type asked, const MemoryBudget &budget,
                                     const std::function<uint64_t(rwkv5_weight_type)> &bytes_of) {
    rwkv5_weight_type type = asked;
    if (asked == RWKV5_WEIGHTS_AUTO)
        type = bytes_of(RWKV5_WEIGHTS_16BIT) <= budget.bytes ? RWKV5_WEIGHTS_16BIT : RWKV5_WEIGHTS_INT8;
    const uint64_t need = bytes_of(type);
    if (need <= budget.bytes) return type;
    std::string message = path + ": its " + weights_name(type) + " weights need " + human_bytes(need) +
                          ", more than the memory budget of " + human_bytes(budget.bytes) + " (" + budget.source + ")";
    const uint64_t int8 = bytes_of(RWKV5_WEIGHTS_INT8);
    if (type != RWKV5_WEIGHTS_INT8 && int8 <= budget.bytes)
        message += "; as int8 weights they need " + human_bytes(int8) + " and fit";
    else
        message += "; free some memory or run a smaller model";
    throw Error(RWKV5_ERR_OUT_OF_MEMORY, message);
}

void require_context_fits(int32_t n_slots, uint64_t slot_bytes, uint64_t batch_bytes, const MemoryBudget &free) {
    const uint64_t need = uint64_t(n_slots) * slot_bytes + batch_bytes;
    if (need <= free.bytes) return;
    const uint64_t fit = free.bytes > batch_bytes && slot_bytes > 0 ? (free.bytes - batch_bytes) / slot_bytes : 0;
    throw Error(RWKV5_ERR_OUT_OF_MEMORY,
                "a context of " + std::to_string(n_slots) + " slots needs " + human_bytes(need) + " (" +
                    human_bytes(slot_bytes) + " of state a slot, " + human_bytes(batch_bytes) +
                    " for a batch), more than the " + human_bytes(free.bytes) + " free (" + free.source + "); " +
                    (fit > 0 ? "at most " + std::to_string(fit) + " slots fit" : "not even one slot fits"));
}

}  // namespace rwkv5
