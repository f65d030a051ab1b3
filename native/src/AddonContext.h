// AddonContext: one rwkv5_context (N state slots) over a loaded AddonModel.
// Every call runs in a worker; one mutex per context serialises them, since
// the C API allows one call on a context at a time.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>

#include "rwkv5.h"

// Shared by the JS object and its in-flight workers, so that a worker finishing
// after dispose() (or after the object is collected) still finds valid memory.
struct ContextHandle {
    std::mutex mutex;
    std::shared_ptr<rwkv5_model> model;
    rwkv5_context *ctx = nullptr;

    ~ContextHandle();
    // The live context; throws engine/disposed once freed. Call with `mutex` held.
    rwkv5_context *Require() const;
};

class AddonContext : public Napi::ObjectWrap<AddonContext> {
public:
    static Napi::Function Init(Napi::Env env);

    explicit AddonContext(const Napi::CallbackInfo &info);

private:
    Napi::Value Initialize(const Napi::CallbackInfo &info);
    Napi::Value Decode(const Napi::CallbackInfo &info);
    Napi::Value SampleLogits(const Napi::CallbackInfo &info);
    Napi::Value GetState(const Napi::CallbackInfo &info);
    Napi::Value SetState(const Napi::CallbackInfo &info);
    Napi::Value Dispose(const Napi::CallbackInfo &info);

    void ThrowIfDisposed(Napi::Env env) const;

    std::shared_ptr<ContextHandle> handle_;
    rwkv5_context_params params_;
    bool initStarted_ = false;
    bool disposed_ = false;
};
