// AddonModel: one rwkv5_model. Created unloaded from (path, params); load()
// runs rwkv5_model_load in a worker with progress and abort; the handle is
// shared with every AddonContext made from it, so the weights outlive
// dispose() until the last context is freed (the C API frees contexts first).
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "rwkv5.h"

class AddonModel : public Napi::ObjectWrap<AddonModel> {
public:
    static Napi::Function Init(Napi::Env env);
    // Whether `value` is an AddonModel instance (checked before unwrapping it).
    static bool IsInstance(Napi::Env env, const Napi::Value &value);

    explicit AddonModel(const Napi::CallbackInfo &info);

    // The loaded model for a new context; throws engine/disposed or engine/invalid_argument.
    std::shared_ptr<rwkv5_model> SharedModel(Napi::Env env) const;

    // Load worker hooks: the abort flag read by the C progress callback, and
    // taking ownership of the loaded model on the JS thread.
    const std::atomic<bool> &AbortFlag() const { return abort_; }
    void RequestAbort() { abort_ = true; }
    void Adopt(Napi::Env env, rwkv5_model *model);

    const std::string &Path() const { return path_; }
    const rwkv5_model_params &Params() const { return params_; }

private:
    Napi::Value Load(const Napi::CallbackInfo &info);
    void AbortLoad(const Napi::CallbackInfo &info);
    Napi::Value Info(const Napi::CallbackInfo &info);
    Napi::Value Dispose(const Napi::CallbackInfo &info);

    void ThrowIfDisposed(Napi::Env env) const;

    std::string path_;
    rwkv5_model_params params_;
    std::atomic<bool> abort_{false};
    bool loadStarted_ = false;
    bool disposed_ = false;
    std::shared_ptr<rwkv5_model> model_;
    rwkv5_model_info info_{};
};
