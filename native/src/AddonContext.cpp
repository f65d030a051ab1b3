#include "AddonContext.h"

#include <cstring>
#include <utility>
#include <vector>

#include "AddonModel.h"
#include "AddonPromiseWorker.h"
#include "engineError.h"

namespace {

// Hands a worker-filled buffer to JS without a second copy.
Napi::Float32Array toFloat32Array(Napi::Env env, std::vector<float> &&data) {
    auto *owned = new std::vector<float>(std::move(data));
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
        env, owned->data(), owned->size() * sizeof(float),
        [](Napi::Env, void *, std::vector<float> *vector) { delete vector; }, owned);
    return Napi::Float32Array::New(env, owned->size(), buffer, 0);
}

int32_t requireInt32(Napi::Env env, const Napi::Value &value, const char *what) {
    if (!value.IsNumber()) {
        throw engineError(env, "engine/invalid_argument", std::string(what) + " must be a number");
    }
    return value.As<Napi::Number>().Int32Value();
}

int32_t optionalInt32(const Napi::Object &object, const char *key, int32_t fallback) {
    const Napi::Value value = object.Get(key);
    return value.IsNumber() ? value.As<Napi::Number>().Int32Value() : fallback;
}

class AddonContextInitWorker : public AddonPromiseWorker<Napi::AsyncWorker> {
public:
    AddonContextInitWorker(Napi::Env env, const Napi::Object &owner, std::shared_ptr<ContextHandle> handle,
                           const rwkv5_context_params &params)
        : AddonPromiseWorker(env, "AddonContextInitWorker", owner), handle_(std::move(handle)), params_(params) {}

protected:
    void Execute() override {
        Guard([&] {
            std::lock_guard<std::mutex> lock(handle_->mutex);
            if (handle_->model == nullptr) {
                throw EngineFailure("engine/disposed", "The engine is disposed");
            }
            rwkv5_error err{};
            handle_->ctx = rwkv5_context_init(handle_->model.get(), &params_, &err);
            if (handle_->ctx == nullptr) {
                throw EngineFailure(statusCode(err.code), err.message);
            }
        });
    }

private:
    std::shared_ptr<ContextHandle> handle_;
    rwkv5_context_params params_;
};

// rwkv5_sampling_params with its id lists owned (the JS arrays may change
// while the call waits for a worker).
struct Sampling {
    rwkv5_sampling_params params{};
    std::vector<int32_t> banned, uncounted;

    const rwkv5_sampling_params *Bind() {
        params.banned = banned.data();
        params.n_banned = static_cast<int32_t>(banned.size());
        params.uncounted = uncounted.data();
        params.n_uncounted = static_cast<int32_t>(uncounted.size());
        return &params;
    }
};

double requireNumber(Napi::Env env, const Napi::Object &object, const char *key) {
    const Napi::Value value = object.Get(key);
    if (!value.IsNumber()) {
        throw engineError(env, "engine/invalid_argument", std::string("sampling.") + key + " must be a number");
    }
    return value.As<Napi::Number>().DoubleValue();
}

std::vector<int32_t> requireIds(Napi::Env env, const Napi::Object &object, const char *key) {
    const Napi::Value value = object.Get(key);
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
        throw engineError(env, "engine/invalid_argument", std::string("sampling.") + key + " must be an Int32Array");
    }
    const Napi::Int32Array ids = value.As<Napi::Int32Array>();
    return std::vector<int32_t>(ids.Data(), ids.Data() + ids.ElementLength());
}

// The AddonSampling object of src/bindings/AddonTypes.ts; the engine checks the ranges.
std::unique_ptr<Sampling> parseSampling(Napi::Env env, const Napi::Value &value) {
    if (!value.IsObject()) {
        throw engineError(env, "engine/invalid_argument", "sampling must be an object");
    }
    const Napi::Object object = value.As<Napi::Object>();
    auto sampling = std::make_unique<Sampling>();
    rwkv5_sampling_params &p = sampling->params;
    p.temperature = requireNumber(env, object, "temperature");
    p.top_p = requireNumber(env, object, "topP");
    p.top_k = requireInt32(env, object.Get("topK"), "sampling.topK");
    p.presence_penalty = requireNumber(env, object, "presencePenalty");
    p.frequency_penalty = requireNumber(env, object, "frequencyPenalty");
    p.penalty_decay = requireNumber(env, object, "penaltyDecay");
    p.uniform = requireNumber(env, object, "uniform");
    p.new_reply = object.Get("newReply").ToBoolean().Value();
    sampling->banned = requireIds(env, object, "banned");
    sampling->uncounted = requireIds(env, object, "uncounted");
    return sampling;
}

struct DecodeItem {
    int32_t slot;
    std::vector<int32_t> tokens;
    rwkv5_logits_mode logits;
    std::unique_ptr<Sampling> sampling;  // null: no sampling
};

class AddonContextDecodeWorker : public AddonPromiseWorker<Napi::AsyncWorker> {
public:
    AddonContextDecodeWorker(Napi::Env env, const Napi::Object &owner, std::shared_ptr<ContextHandle> handle,
                             std::vector<DecodeItem> items)
        : AddonPromiseWorker(env, "AddonContextDecodeWorker", owner), handle_(std::move(handle)),
          items_(std::move(items)) {}

protected:
    void Execute() override {
        Guard([&] {
            std::lock_guard<std::mutex> lock(handle_->mutex);
            rwkv5_context *ctx = handle_->Require();
            std::vector<rwkv5_batch_item> batch;
            batch.reserve(items_.size());
            for (const DecodeItem &item : items_) {
                batch.push_back({item.slot, item.tokens.data(), static_cast<int32_t>(item.tokens.size()), item.logits,
                                 item.sampling ? item.sampling->Bind() : nullptr});
            }
            rwkv5_error err{};
            throwIfFailed(rwkv5_decode(ctx, batch.data(), static_cast<int32_t>(batch.size()), &err), err);

            rwkv5_model_info info{};
            rwkv5_model_get_info(handle_->model.get(), &info);
            outputs_.resize(items_.size());
            for (size_t i = 0; i < items_.size(); i++) {
                int32_t rows = 0;
                const float *logits = rwkv5_get_logits(ctx, static_cast<int32_t>(i), &rows);
                if (logits != nullptr) {
                    outputs_[i].present = true;
                    outputs_[i].data.assign(logits, logits + static_cast<size_t>(rows) * info.n_vocab);
                }
                outputs_[i].token = rwkv5_get_token(ctx, static_cast<int32_t>(i));
            }
        });
    }

    Napi::Value Result(Napi::Env env) override {
        Napi::Array results = Napi::Array::New(env, outputs_.size());
        for (size_t i = 0; i < outputs_.size(); i++) {
            Output &output = outputs_[i];
            Napi::Object result = Napi::Object::New(env);
            result.Set("logits", output.present ? Napi::Value(toFloat32Array(env, std::move(output.data))) : env.Null());
            result.Set("token", output.token);
            results.Set(i, result);
        }
        return results;
    }

private:
    struct Output {
        bool present = false;
        std::vector<float> data;
        int32_t token = -1;
    };

    std::shared_ptr<ContextHandle> handle_;
    std::vector<DecodeItem> items_;
    std::vector<Output> outputs_;
};

class AddonContextSampleWorker : public AddonPromiseWorker<Napi::AsyncWorker> {
public:
    AddonContextSampleWorker(Napi::Env env, const Napi::Object &owner, std::shared_ptr<ContextHandle> handle,
                             std::vector<float> logits, std::vector<int32_t> slots,
                             std::vector<std::unique_ptr<Sampling>> sampling)
        : AddonPromiseWorker(env, "AddonContextSampleWorker", owner), handle_(std::move(handle)),
          logits_(std::move(logits)), slots_(std::move(slots)), sampling_(std::move(sampling)) {}

protected:
    void Execute() override {
        Guard([&] {
            std::lock_guard<std::mutex> lock(handle_->mutex);
            rwkv5_context *ctx = handle_->Require();
            rwkv5_model_info info{};
            rwkv5_model_get_info(handle_->model.get(), &info);
            if (logits_.size() != slots_.size() * static_cast<size_t>(info.n_vocab)) {
                throw EngineFailure("engine/invalid_argument", "sampleLogits needs one row of nVocab logits per slot");
            }
            std::vector<rwkv5_sampling_params> params;
            for (const auto &sampling : sampling_) params.push_back(*sampling->Bind());
            tokens_.resize(slots_.size());
            rwkv5_error err{};
            throwIfFailed(rwkv5_sample_logits(ctx, logits_.data(), static_cast<int32_t>(slots_.size()), slots_.data(),
                                              params.data(), tokens_.data(), &err),
                          err);
        });
    }

    Napi::Value Result(Napi::Env env) override {
        Napi::Int32Array tokens = Napi::Int32Array::New(env, tokens_.size());
        std::memcpy(tokens.Data(), tokens_.data(), tokens_.size() * sizeof(int32_t));
        return tokens;
    }

private:
    std::shared_ptr<ContextHandle> handle_;
    std::vector<float> logits_;
    std::vector<int32_t> slots_;
    std::vector<std::unique_ptr<Sampling>> sampling_;
    std::vector<int32_t> tokens_;
};

class AddonContextGetStateWorker : public AddonPromiseWorker<Napi::AsyncWorker> {
public:
    AddonContextGetStateWorker(Napi::Env env, const Napi::Object &owner, std::shared_ptr<ContextHandle> handle,
                               int32_t slot)
        : AddonPromiseWorker(env, "AddonContextGetStateWorker", owner), handle_(std::move(handle)), slot_(slot) {}

protected:
    void Execute() override {
        Guard([&] {
            std::lock_guard<std::mutex> lock(handle_->mutex);
            rwkv5_context *ctx = handle_->Require();
            const size_t size = rwkv5_state_size(ctx);
            state_.resize(size / sizeof(float));
            rwkv5_error err{};
            throwIfFailed(rwkv5_slot_get_state(ctx, slot_, state_.data(), size, &err), err);
        });
    }

    Napi::Value Result(Napi::Env env) override { return toFloat32Array(env, std::move(state_)); }

private:
    std::shared_ptr<ContextHandle> handle_;
    int32_t slot_;
    std::vector<float> state_;
};

// A state of `nullptr` resets the slot to the zero state.
class AddonContextSetStateWorker : public AddonPromiseWorker<Napi::AsyncWorker> {
public:
    AddonContextSetStateWorker(Napi::Env env, const Napi::Object &owner, std::shared_ptr<ContextHandle> handle,
                               int32_t slot, std::unique_ptr<std::vector<float>> state)
        : AddonPromiseWorker(env, "AddonContextSetStateWorker", owner), handle_(std::move(handle)), slot_(slot),
          state_(std::move(state)) {}

protected:
    void Execute() override {
        Guard([&] {
            std::lock_guard<std::mutex> lock(handle_->mutex);
            rwkv5_context *ctx = handle_->Require();
            rwkv5_error err{};
            const rwkv5_status status =
                state_ == nullptr
                    ? rwkv5_slot_reset(ctx, slot_, &err)
                    : rwkv5_slot_set_state(ctx, slot_, state_->data(), state_->size() * sizeof(float), &err);
            throwIfFailed(status, err);
        });
    }

private:
    std::shared_ptr<ContextHandle> handle_;
    int32_t slot_;
    std::unique_ptr<std::vector<float>> state_;
};

class AddonContextDisposeWorker : public AddonPromiseWorker<Napi::AsyncWorker> {
public:
    AddonContextDisposeWorker(Napi::Env env, const Napi::Object &owner, std::shared_ptr<ContextHandle> handle)
        : AddonPromiseWorker(env, "AddonContextDisposeWorker", owner), handle_(std::move(handle)) {}

protected:
    void Execute() override {
        Guard([&] {
            std::lock_guard<std::mutex> lock(handle_->mutex);
            if (handle_->ctx != nullptr) {
                rwkv5_context_free(std::exchange(handle_->ctx, nullptr));
            }
            handle_->model.reset();
        });
    }

private:
    std::shared_ptr<ContextHandle> handle_;
};

template <typename Worker, typename... Args>
Napi::Value queue(Napi::Env env, Args &&...args) {
    auto *worker = new Worker(env, std::forward<Args>(args)...);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

} // namespace

ContextHandle::~ContextHandle() {
    if (ctx != nullptr) {
        rwkv5_context_free(ctx);
    }
}

rwkv5_context *ContextHandle::Require() const {
    if (ctx == nullptr) {
        throw EngineFailure("engine/disposed", "The engine is disposed");
    }
    return ctx;
}

Napi::Function AddonContext::Init(Napi::Env env) {
    return DefineClass(env, "AddonContext",
                       {InstanceMethod<&AddonContext::Initialize>("init"),
                        InstanceMethod<&AddonContext::Decode>("decode"),
                        InstanceMethod<&AddonContext::SampleLogits>("sampleLogits"),
                        InstanceMethod<&AddonContext::GetState>("getState"),
                        InstanceMethod<&AddonContext::SetState>("setState"),
                        InstanceMethod<&AddonContext::Dispose>("dispose")});
}

AddonContext::AddonContext(const Napi::CallbackInfo &info)
    : Napi::ObjectWrap<AddonContext>(info), handle_(std::make_shared<ContextHandle>()),
      params_(rwkv5_context_default_params()) {
    Napi::Env env = info.Env();
    if (!AddonModel::IsInstance(env, info[0]) || !info[1].IsObject()) {
        throw engineError(env, "engine/invalid_argument", "AddonContext(model: AddonModel, params: object)");
    }
    handle_->model = Napi::ObjectWrap<AddonModel>::Unwrap(info[0].As<Napi::Object>())->SharedModel(env);
    const Napi::Object params = info[1].As<Napi::Object>();
    params_.n_slots = optionalInt32(params, "slots", params_.n_slots);
    params_.n_threads = optionalInt32(params, "threads", params_.n_threads);
    params_.max_batch_tokens = optionalInt32(params, "maxBatchTokens", params_.max_batch_tokens);
}

Napi::Value AddonContext::Initialize(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ThrowIfDisposed(env);
    if (initStarted_) {
        throw engineError(env, "engine/invalid_argument", "init() may be called once per AddonContext");
    }
    initStarted_ = true;
    return queue<AddonContextInitWorker>(env, Value(), handle_, params_);
}

Napi::Value AddonContext::Decode(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ThrowIfDisposed(env);
    if (!info[0].IsArray()) {
        throw engineError(env, "engine/invalid_argument", "decode(items: array)");
    }
    const Napi::Array array = info[0].As<Napi::Array>();
    std::vector<DecodeItem> items(array.Length());
    for (uint32_t i = 0; i < array.Length(); i++) {
        const Napi::Value value = array.Get(i);
        const Napi::Value tokens = value.IsObject() ? value.As<Napi::Object>().Get("tokens") : env.Undefined();
        if (!tokens.IsTypedArray() || tokens.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
            throw engineError(env, "engine/invalid_argument", "decode item " + std::to_string(i) + ": tokens must be an Int32Array");
        }
        const Napi::Object item = value.As<Napi::Object>();
        const Napi::Int32Array ids = tokens.As<Napi::Int32Array>();
        items[i].slot = requireInt32(env, item.Get("slot"), "slot");
        items[i].tokens.assign(ids.Data(), ids.Data() + ids.ElementLength());
        const int32_t logits = requireInt32(env, item.Get("logits"), "logits");
        if (logits < RWKV5_LOGITS_NONE || logits > RWKV5_LOGITS_ALL) {
            throw engineError(env, "engine/invalid_argument", "logits must be 0 (none), 1 (last) or 2 (all)");
        }
        items[i].logits = static_cast<rwkv5_logits_mode>(logits);
        const Napi::Value sampling = item.Get("sampling");
        if (!sampling.IsUndefined() && !sampling.IsNull()) {
            items[i].sampling = parseSampling(env, sampling);
        }
    }
    return queue<AddonContextDecodeWorker>(env, Value(), handle_, std::move(items));
}

Napi::Value AddonContext::SampleLogits(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ThrowIfDisposed(env);
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        !info[2].IsArray()) {
        throw engineError(env, "engine/invalid_argument",
                          "sampleLogits(logits: Float32Array, slots: Int32Array, sampling: array)");
    }
    const Napi::Float32Array logits = info[0].As<Napi::Float32Array>();
    const Napi::Int32Array slots = info[1].As<Napi::Int32Array>();
    const Napi::Array array = info[2].As<Napi::Array>();
    if (array.Length() != slots.ElementLength()) {
        throw engineError(env, "engine/invalid_argument", "sampleLogits needs one sampling object per slot");
    }
    std::vector<std::unique_ptr<Sampling>> sampling;
    for (uint32_t i = 0; i < array.Length(); i++) sampling.push_back(parseSampling(env, array.Get(i)));
    return queue<AddonContextSampleWorker>(env, Value(), handle_,
                                           std::vector<float>(logits.Data(), logits.Data() + logits.ElementLength()),
                                           std::vector<int32_t>(slots.Data(), slots.Data() + slots.ElementLength()),
                                           std::move(sampling));
}

Napi::Value AddonContext::GetState(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ThrowIfDisposed(env);
    return queue<AddonContextGetStateWorker>(env, Value(), handle_, requireInt32(env, info[0], "slot"));
}

Napi::Value AddonContext::SetState(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ThrowIfDisposed(env);
    const int32_t slot = requireInt32(env, info[0], "slot");
    std::unique_ptr<std::vector<float>> state;
    if (!info[1].IsNull()) {
        if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
            throw engineError(env, "engine/invalid_argument", "state must be a Float32Array or null");
        }
        const Napi::Float32Array source = info[1].As<Napi::Float32Array>();
        state = std::make_unique<std::vector<float>>(source.Data(), source.Data() + source.ElementLength());
    }
    return queue<AddonContextSetStateWorker>(env, Value(), handle_, slot, std::move(state));
}

Napi::Value AddonContext::Dispose(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    disposed_ = true;
    return queue<AddonContextDisposeWorker>(env, Value(), handle_);
}

void AddonContext::ThrowIfDisposed(Napi::Env env) const {
    if (disposed_) {
        throw engineError(env, "engine/disposed", "The engine is disposed");
    }
}
