#include "AddonModel.h"

#include <utility>

#include "AddonPromiseWorker.h"
#include "addonData.h"
#include "engineError.h"

namespace {

// The precision words of src/inference/Precision.ts, one per rwkv5_weight_type
// ("auto" is only ever asked for: a loaded model reports what it chose).
const char *weightTypeName(rwkv5_weight_type type) {
    switch (type) {
    case RWKV5_WEIGHTS_FP32: return "fp32";
    case RWKV5_WEIGHTS_16BIT: return "16bit";
    case RWKV5_WEIGHTS_INT8: return "int8";
    case RWKV5_WEIGHTS_AUTO: return "auto";
    }
    return "unknown";
}

rwkv5_weight_type parseWeightType(Napi::Env env, const Napi::Value &value) {
    const std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
    for (rwkv5_weight_type type : {RWKV5_WEIGHTS_FP32, RWKV5_WEIGHTS_16BIT, RWKV5_WEIGHTS_INT8, RWKV5_WEIGHTS_AUTO})
        if (name == weightTypeName(type)) return type;
    throw engineError(env, "engine/invalid_argument", "weightType must be \"fp32\", \"16bit\", \"int8\" or \"auto\"");
}

rwkv5_backend parseBackend(Napi::Env env, const Napi::Value &value) {
    const std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
    if (name == "auto") return RWKV5_BACKEND_AUTO;
    if (name == "cpu") return RWKV5_BACKEND_CPU;
    if (name == "cuda") return RWKV5_BACKEND_CUDA;
    throw engineError(env, "engine/invalid_argument", "backend must be \"auto\", \"cpu\" or \"cuda\"");
}

const char *fileDtypeName(rwkv5_file_dtype dtype) {
    switch (dtype) {
    case RWKV5_DTYPE_F32: return "f32";
    case RWKV5_DTYPE_F16: return "f16";
    case RWKV5_DTYPE_BF16: return "bf16";
    case RWKV5_DTYPE_MIXED: return "mixed";
    }
    return "mixed";
}

class AddonModelLoadWorker : public AddonPromiseWorker<Napi::AsyncProgressQueueWorker<float>> {
public:
    AddonModelLoadWorker(Napi::Env env, AddonModel *owner, const Napi::Value &onProgress)
        : AddonPromiseWorker(env, "AddonModelLoadWorker", owner->Value()), owner_(owner),
          path_(owner->Path()), params_(owner->Params()) {
        if (onProgress.IsFunction()) {
            onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
        }
    }

    ~AddonModelLoadWorker() override {
        if (model_ != nullptr) {
            rwkv5_model_free(model_);
        }
    }

protected:
    void Execute(const ExecutionProgress &progress) override {
        Guard([&] {
            Progress context{&progress, &owner_->AbortFlag()};
            rwkv5_model_params params = params_;
            params.progress_callback = &AddonModelLoadWorker::OnCProgress;
            params.progress_user_data = &context;
            rwkv5_error err{};
            model_ = rwkv5_model_load(path_.c_str(), &params, &err);
            if (model_ == nullptr) {
                throw EngineFailure(statusCode(err.code), err.message);
            }
        });
    }

    void OnProgress(const float *data, size_t count) override {
        if (onProgress_.IsEmpty()) {
            return;
        }
        for (size_t i = 0; i < count; i++) {
            try {
                onProgress_.Call({Napi::Number::New(Env(), data[i])});
            } catch (const Napi::Error &) {
                // A throwing listener cannot be reported from here: stop the load instead.
                owner_->RequestAbort();
            }
        }
    }

    Napi::Value Result(Napi::Env env) override {
        rwkv5_model *model = std::exchange(model_, nullptr);
        owner_->Adopt(env, model);
        return env.Undefined();
    }

private:
    struct Progress {
        const ExecutionProgress *progress;
        const std::atomic<bool> *abort;
    };

    // The engine calls this on the loading thread; it must not touch JS.
    static bool OnCProgress(float fraction, void *userData) {
        const auto *context = static_cast<const Progress *>(userData);
        context->progress->Send(&fraction, 1);
        return !context->abort->load();
    }

    AddonModel *owner_;
    std::string path_;
    rwkv5_model_params params_;
    Napi::FunctionReference onProgress_;
    rwkv5_model *model_ = nullptr;
};

// Dropping the model's own reference may free gigabytes (unmap, converted
// weights): done off the JS thread.
class AddonModelDisposeWorker : public AddonPromiseWorker<Napi::AsyncWorker> {
public:
    AddonModelDisposeWorker(Napi::Env env, const Napi::Object &owner, std::shared_ptr<rwkv5_model> model)
        : AddonPromiseWorker(env, "AddonModelDisposeWorker", owner), model_(std::move(model)) {}

protected:
    void Execute() override {
        Guard([&] { model_.reset(); });
    }

private:
    std::shared_ptr<rwkv5_model> model_;
};

} // namespace

Napi::Function AddonModel::Init(Napi::Env env) {
    return DefineClass(env, "AddonModel",
                       {InstanceMethod<&AddonModel::Load>("load"),
                        InstanceMethod<&AddonModel::AbortLoad>("abortLoad"),
                        InstanceMethod<&AddonModel::Info>("info"),
                        InstanceMethod<&AddonModel::Dispose>("dispose")});
}

bool AddonModel::IsInstance(Napi::Env env, const Napi::Value &value) {
    return value.IsObject() && value.As<Napi::Object>().InstanceOf(addonData(env).modelClass.Value());
}

AddonModel::AddonModel(const Napi::CallbackInfo &info)
    : Napi::ObjectWrap<AddonModel>(info), params_(rwkv5_model_default_params()) {
    Napi::Env env = info.Env();
    if (!info[0].IsString() || !info[1].IsObject()) {
        throw engineError(env, "engine/invalid_argument", "AddonModel(path: string, params: object)");
    }
    path_ = info[0].As<Napi::String>().Utf8Value();
    const Napi::Object params = info[1].As<Napi::Object>();
    params_.weight_type = parseWeightType(env, params.Get("weightType"));
    params_.backend = parseBackend(env, params.Get("backend"));
    const Napi::Value threads = params.Get("threads");
    params_.n_threads = threads.IsNumber() ? threads.As<Napi::Number>().Int32Value() : 0;
    const Napi::Value budget = params.Get("memoryBudget");
    if (!budget.IsUndefined()) {
        const double bytes = budget.IsNumber() ? budget.As<Napi::Number>().DoubleValue() : -1;
        if (!(bytes >= 0 && bytes <= 9007199254740991.0)) {
            throw engineError(env, "engine/invalid_argument", "memoryBudget must be a number of bytes (0 = the free memory)");
        }
        params_.memory_budget = static_cast<uint64_t>(bytes);
    }
}

std::shared_ptr<rwkv5_model> AddonModel::SharedModel(Napi::Env env) const {
    ThrowIfDisposed(env);
    if (model_ == nullptr) {
        throw engineError(env, "engine/invalid_argument", "The model is not loaded yet");
    }
    return model_;
}

void AddonModel::Adopt(Napi::Env env, rwkv5_model *model) {
    if (disposed_) {
        rwkv5_model_free(model);
        throw engineError(env, "engine/disposed", "The model was disposed while loading");
    }
    model_ = std::shared_ptr<rwkv5_model>(model, rwkv5_model_free);
    rwkv5_model_get_info(model, &info_);
}

Napi::Value AddonModel::Load(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ThrowIfDisposed(env);
    if (loadStarted_) {
        throw engineError(env, "engine/invalid_argument", "load() may be called once per AddonModel");
    }
    loadStarted_ = true;
    auto *worker = new AddonModelLoadWorker(env, this, info[0]);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

void AddonModel::AbortLoad(const Napi::CallbackInfo &) {
    abort_ = true;
}

Napi::Value AddonModel::Info(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    SharedModel(env);
    Napi::Object out = Napi::Object::New(env);
    out.Set("nVocab", info_.n_vocab);
    out.Set("nEmbd", info_.n_embd);
    out.Set("nLayer", info_.n_layer);
    out.Set("nHead", info_.n_head);
    out.Set("headSize", info_.head_size);
    out.Set("dimAtt", info_.dim_att);
    out.Set("dimFfn", info_.dim_ffn);
    out.Set("nParams", static_cast<double>(info_.n_params));
    out.Set("fileDtype", fileDtypeName(info_.file_dtype));
    out.Set("weightType", weightTypeName(info_.weight_type));
    out.Set("backend", info_.backend == RWKV5_BACKEND_CUDA ? "cuda" : "cpu");
    out.Set("stateSize", static_cast<double>(info_.state_size));
    out.Set("weightBytes", static_cast<double>(info_.weight_bytes));
    out.Set("decodeBytesPerStep", static_cast<double>(info_.decode_bytes_per_step));
    out.Set("memoryBudget", static_cast<double>(info_.memory_budget));
    out.Set("modelId", info_.model_id);
    return out;
}

Napi::Value AddonModel::Dispose(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (disposed_) {
        Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
        done.Resolve(env.Undefined());
        return done.Promise();
    }
    disposed_ = true;
    abort_ = true;
    auto *worker = new AddonModelDisposeWorker(env, Value(), std::move(model_));
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

void AddonModel::ThrowIfDisposed(Napi::Env env) const {
    if (disposed_) {
        throw engineError(env, "engine/disposed", "The model is disposed");
    }
}
