// Coded errors across the addon boundary: every rejection carries `code`
// (`engine/<status>`), which the TS side wraps into EngineError.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

#include "rwkv5.h"

// A failure raised on a worker thread, turned into a coded JS error on the main thread.
class EngineFailure : public std::runtime_error {
public:
    EngineFailure(std::string code, const std::string &message)
        : std::runtime_error(message), code_(std::move(code)) {}

    const std::string &code() const { return code_; }

private:
    std::string code_;
};

// `engine/<status>`: the rwkv5_status name without RWKV5_ERR_, lower-cased.
std::string statusCode(rwkv5_status status);

// Throws EngineFailure for a failed C call (status != RWKV5_OK).
void throwIfFailed(rwkv5_status status, const rwkv5_error &err);

// A JS Error with `code` set.
Napi::Error engineError(Napi::Env env, const std::string &code, const std::string &message);
