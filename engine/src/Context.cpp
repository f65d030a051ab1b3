#include "Context.h"

#include <algorithm>
#include <string>

#include "Error.h"
#include "Sampler.h"
#ifdef RWKV5_WITH_CUDA
#include "cuda/cuda.h"
#endif

namespace rwkv5 {

namespace {
[[noreturn]] void invalid(const std::string &message) { throw Error(RWKV5_ERR_INVALID_ARGUMENT, message); }
}  // namespace

Context::Context(const Model &model, const rwkv5_context_params &params)
    : model_(model), n_slots_(params.n_slots), max_batch_tokens_(params.max_batch_tokens) {
    if (n_slots_ < 1) invalid("n_slots must be >= 1, got " + std::to_string(n_slots_));
    if (params.n_threads < 0) invalid("n_threads must be >= 0, got " + std::to_string(params.n_threads));
    if (max_batch_tokens_ < 1)
        invalid("max_batch_tokens must be >= 1, got " + std::to_string(max_batch_tokens_));
#ifdef RWKV5_WITH_CUDA
    if (model.info().backend == RWKV5_BACKEND_CUDA)
        backend_ = cuda::make_backend(model, n_slots_, max_batch_tokens_);
    else
#endif
    backend_ = make_cpu_backend(model, n_slots_, params.n_threads, max_batch_tokens_);
    slot_used_.assign(size_t(n_slots_), 0);
    row_offset_.reserve(size_t(n_slots_));
    row_count_.reserve(size_t(n_slots_));
}

void Context::check_slot(int32_t slot) const {
    if (slot < 0 || slot >= n_slots_)
        invalid("slot " + std::to_string(slot) + " is out of range [0, " + std::to_string(n_slots_) + ")");
}

void Context::get_state(int32_t slot, float *dst, size_t size) const {
    check_slot(slot);
    if (!dst || size != state_size())
        invalid("state buffer must be " + std::to_string(state_size()) + " bytes, got " + std::to_string(size));
    backend_->get_state(slot, dst);
}

void Context::set_state(int32_t slot, const float *src, size_t size) {
    check_slot(slot);
    if (!src || size != state_size())
        invalid("state buffer must be " + std::to_string(state_size()) + " bytes, got " + std::to_string(size));
    backend_->set_state(slot, src);
}

void Context::reset(int32_t slot) {
    check_slot(slot);
    backend_->set_state(slot, nullptr);
}

void Context::decode(const rwkv5_batch_item *items, int32_t n_items) {
    if (n_items < 1 || !items) invalid("a decode needs at least one item");
    if (n_items > n_slots_) invalid("more items than slots: the slots of a batch must be distinct");
    const int32_t n_vocab = model_.info().n_vocab;
    int64_t total = 0, logit_rows = 0;
    std::fill(slot_used_.begin(), slot_used_.end(), 0);
    for (int32_t i = 0; i < n_items; ++i) {
        const rwkv5_batch_item &it = items[i];
        const std::string where = "item " + std::to_string(i) + ": ";
        if (it.slot < 0 || it.slot >= n_slots_)
            invalid(where + "slot " + std::to_string(it.slot) + " is out of range [0, " + std::to_string(n_slots_) + ")");
        if (slot_used_[size_t(it.slot)]) invalid(where + "slot " + std::to_string(it.slot) + " appears twice in the batch");
        slot_used_[size_t(it.slot)] = 1;
        if (it.n_tokens < 1 || !it.tokens) invalid(where + "n_tokens must be >= 1");
        for (int32_t j = 0; j < it.n_tokens; ++j)
            if (it.tokens[j] < 0 || it.tokens[j] >= n_vocab)
                invalid(where + "token " + std::to_string(it.tokens[j]) + " at position " + std::to_string(j) +
                        " is out of range [0, " + std::to_string(n_vocab) + ")");
        if (it.logits != RWKV5_LOGITS_NONE && it.logits != RWKV5_LOGITS_LAST && it.logits != RWKV5_LOGITS_ALL)
            invalid(where + "unknown logits mode " + std::to_string(int(it.logits)));
        if (it.sampling) check_sampling_params(*it.sampling, n_vocab, where);
        total += it.n_tokens;
        logit_rows += head_rows(it);
    }
    if (total > max_batch_tokens_)
        invalid("the batch has " + std::to_string(total) + " tokens, more than max_batch_tokens = " +
                std::to_string(max_batch_tokens_));
    // Everything that can fail happens before the backend touches a state.
    logits_.resize(size_t(logit_rows) * size_t(n_vocab));
    row_offset_.clear();
    row_count_.clear();
    int64_t row = 0;
    for (int32_t i = 0; i < n_items; ++i) {
        row_offset_.push_back(row);
        row_count_.push_back(items[i].logits == RWKV5_LOGITS_NONE ? 0 : head_rows(items[i]));
        row += head_rows(items[i]);
    }
    tokens_.assign(size_t(n_items), -1);
    backend_->decode(items, n_items, row_offset_.data(), logits_.data(), tokens_.data());
}

void Context::sample_logits(const float *logits, int32_t n_rows, const int32_t *slots,
                            const rwkv5_sampling_params *params, int32_t *tokens) {
    if (n_rows < 1 || !logits || !slots || !params || !tokens) invalid("sampling needs at least one row, its slot and params");
    if (n_rows > n_slots_) invalid("more rows than slots: the slots of the rows must be distinct");
    std::fill(slot_used_.begin(), slot_used_.end(), 0);
    for (int32_t i = 0; i < n_rows; ++i) {
        const std::string where = "row " + std::to_string(i) + ": ";
        check_slot(slots[i]);
        if (slot_used_[size_t(slots[i])]) invalid(where + "slot " + std::to_string(slots[i]) + " appears twice");
        slot_used_[size_t(slots[i])] = 1;
        check_sampling_params(params[i], model_.info().n_vocab, where);
    }
    backend_->sample(logits, n_rows, slots, params, tokens);
}

int32_t Context::token(int32_t item) const {
    return item >= 0 && size_t(item) < tokens_.size() ? tokens_[size_t(item)] : -1;
}

const float *Context::logits(int32_t item, int32_t *n_rows) const {
    if (item < 0 || size_t(item) >= row_count_.size() || row_count_[size_t(item)] == 0) {
        if (n_rows) *n_rows = 0;
        return nullptr;
    }
    if (n_rows) *n_rows = row_count_[size_t(item)];
    return logits_.data() + size_t(row_offset_[size_t(item)]) * size_t(model_.info().n_vocab);
}

}  // namespace rwkv5
