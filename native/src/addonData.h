// Per-environment data (one per Node worker thread loading the addon): the
// class constructors, kept to check the type of objects passed back in.
#pragma once

#include <napi.h>

struct AddonData {
    Napi::FunctionReference modelClass;
    Napi::FunctionReference contextClass;
};

inline AddonData &addonData(Napi::Env env) {
    return *env.GetInstanceData<AddonData>();
}
