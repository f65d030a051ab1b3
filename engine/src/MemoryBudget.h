// What a load may spend on weights, and the precision RWKV5_WEIGHTS_AUTO
// resolves to: a refusal before allocating is a clear error, where running
// out of memory half-way through a 23 GB load is the kernel's OOM killer,
// which leaves no message at all.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "rwkv5.h"

namespace rwkv5 {

// Left free for what the load does not count: contexts (states, activations,
// logits), the allocator's slack and the rest of the process.
constexpr uint64_t kMemoryReserve = 512ull << 20;

struct MemoryBudget {
    uint64_t bytes;
    // Where the figure comes from, for the refusal message.
    std::string source;
};

// Host memory free for new allocations: MemAvailable (page cache counts as
// free: the kernel reclaims it) within the headroom of every memory cgroup
// (v1 or v2) the process is in, since a container's limit binds before the
// host's memory does. Empty source and UINT64_MAX bytes when nothing could
// be read (not Linux). `root` prefixes every path read (tests give a fake tree).
MemoryBudget host_free_memory(const std::string &root = "");

// The budget of a load: the caller's when nonzero, else `free` less the reserve.
MemoryBudget load_budget(uint64_t asked, const MemoryBudget &free);

// The weight type to load: `asked`, or for RWKV5_WEIGHTS_AUTO 16-bit when its
// bytes fit the budget, else int8. Throws RWKV5_ERR_OUT_OF_MEMORY, naming the
// file, the bytes, the budget and what would fit, when the chosen type's
// bytes exceed the budget. `bytes_of(type)` is what `type` would occupy.
rwkv5_weight_type choose_weight_type(const std::string &path, rwkv5_weight_type asked, const MemoryBudget &budget,
                                     const std::function<uint64_t(rwkv5_weight_type)> &bytes_of);

// Throws RWKV5_ERR_OUT_OF_MEMORY, naming how many slots would fit, when a
// context of `n_slots` states of `slot_bytes` each plus `batch_bytes` (a
// batch's activations and logits) needs more than `free`: a context zeroes
// its states at once, so an oversized one would meet the OOM killer at
// start-up, with no message at all.
void require_context_fits(int32_t n_slots, uint64_t slot_bytes, uint64_t batch_bytes, const MemoryBudget &free);

// "12.6 GB" (or "1.8 MB" below a gigabyte): decimal units, as disks and the README count them.
std::string human_bytes(uint64_t bytes);

}  // namespace rwkv5
