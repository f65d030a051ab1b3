// The one shape of every blocking addon call: run on a libuv worker thread,
// settle a promise on the JS thread, reject with a coded error.
#pragma once

#include <napi.h>

#include <new>
#include <string>
#include <utility>

#include "engineError.h"

// `Base` is Napi::AsyncWorker or Napi::AsyncProgressQueueWorker<T>. The owner
// (the ObjectWrap that started the call) is referenced while the worker lives,
// so a running call never sees its object collected.
template <typename Base>
class AddonPromiseWorker : public Base {
public:
    Napi::Promise Promise() const { return deferred_.Promise(); }

protected:
    AddonPromiseWorker(Napi::Env env, const char *name, const Napi::Object &owner)
        : Base(env, name), deferred_(Napi::Promise::Deferred::New(env)) {
        if (!owner.IsEmpty()) {
            owner_ = Napi::Persistent(owner);
        }
    }

    // Runs `fn` on the worker thread; any exception becomes a coded rejection.
    template <typename Fn>
    void Guard(Fn &&fn) noexcept {
        try {
            std::forward<Fn>(fn)();
        } catch (const EngineFailure &failure) {
            Fail(failure.code(), failure.what());
        } catch (const std::bad_alloc &) {
            Fail("engine/out_of_memory", "Out of memory in the native addon");
        } catch (const std::exception &e) {
            Fail("engine/internal", e.what());
        } catch (...) {
            Fail("engine/internal", "Unknown native exception");
        }
    }

    // The resolved value, built on the JS thread after a successful run.
    virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

    void OnOK() override {
        Napi::Env env = this->Env();
        try {
            deferred_.Resolve(Result(env));
        } catch (const Napi::Error &e) {
            deferred_.Reject(e.Value());
        }
    }

    void OnError(const Napi::Error &error) override {
        deferred_.Reject(engineError(this->Env(), code_, error.Message()).Value());
    }

private:
    void Fail(std::string code, const std::string &message) {
        code_ = std::move(code);
        this->SetError(message);
    }

    Napi::Promise::Deferred deferred_;
    Napi::ObjectReference owner_;
    std::string code_ = "engine/internal";
};
