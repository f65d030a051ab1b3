// Module entry: registers the classes and the engine's capability functions.
// The TS description of everything exported here is src/bindings/AddonTypes.ts.
#include <napi.h>

#include "AddonContext.h"
#include "AddonModel.h"
#include "AddonPromiseWorker.h"
#include "addonData.h"
#include "rwkv5.h"

namespace {

class AddonMeasureReadBandwidthWorker : public AddonPromiseWorker<Napi::AsyncWorker> {
public:
    AddonMeasureReadBandwidthWorker(Napi::Env env, size_t bytes, int32_t threads, int32_t reps)
        : AddonPromiseWorker(env, "AddonMeasureReadBandwidthWorker", Napi::Object()), bytes_(bytes),
          threads_(threads), reps_(reps) {}

protected:
    void Execute() override {
        Guard([&] {
            bytesPerSecond_ = rwkv5_measure_read_bandwidth(bytes_, threads_, reps_);
            if (bytesPerSecond_ <= 0) {
                throw EngineFailure("engine/out_of_memory", "Could not allocate the bandwidth test buffer");
            }
        });
    }

    Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, bytesPerSecond_); }

private:
    size_t bytes_;
    int32_t threads_;
    int32_t reps_;
    double bytesPerSecond_ = 0;
};

Napi::Value measureReadBandwidth(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
        throw engineError(env, "engine/invalid_argument", "measureReadBandwidth(bytes, threads, reps)");
    }
    auto *worker = new AddonMeasureReadBandwidthWorker(env, static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()),
                                                       info[1].As<Napi::Number>().Int32Value(),
                                                       info[2].As<Napi::Number>().Int32Value());
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
    auto *data = new AddonData();
    env.SetInstanceData(data);

    const Napi::Function modelClass = AddonModel::Init(env);
    const Napi::Function contextClass = AddonContext::Init(env);
    data->modelClass = Napi::Persistent(modelClass);
    data->contextClass = Napi::Persistent(contextClass);
    exports.Set("AddonModel", modelClass);
    exports.Set("AddonContext", contextClass);

    exports.Set("systemInfo", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
                    return Napi::String::New(info.Env(), rwkv5_system_info());
                }));
    exports.Set("cpuKernel", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
                    return Napi::String::New(info.Env(), rwkv5_cpu_kernel());
                }));
    exports.Set("supportsCuda", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
                    return Napi::Boolean::New(info.Env(), rwkv5_supports_cuda());
                }));
    exports.Set("measureReadBandwidth", Napi::Function::New(env, measureReadBandwidth));
    return exports;
}

} // namespace

NODE_API_MODULE(rwkv5_addon, init)
