#include "engineError.h"

std::string statusCode(rwkv5_status status) {
    switch (status) {
    case RWKV5_OK: return "engine/ok";
    case RWKV5_ERR_IO: return "engine/io";
    case RWKV5_ERR_BAD_ARCHIVE: return "engine/bad_archive";
    case RWKV5_ERR_BAD_PICKLE: return "engine/bad_pickle";
    case RWKV5_ERR_MISSING_TENSOR: return "engine/missing_tensor";
    case RWKV5_ERR_UNSUPPORTED_MODEL: return "engine/unsupported_model";
    case RWKV5_ERR_BAD_SHAPE: return "engine/bad_shape";
    case RWKV5_ERR_BAD_DTYPE: return "engine/bad_dtype";
    case RWKV5_ERR_ABORTED: return "engine/aborted";
    case RWKV5_ERR_INVALID_ARGUMENT: return "engine/invalid_argument";
    case RWKV5_ERR_OUT_OF_MEMORY: return "engine/out_of_memory";
    case RWKV5_ERR_BACKEND: return "engine/backend";
    case RWKV5_ERR_INTERNAL: return "engine/internal";
    case RWKV5_ERR_CHECKSUM: return "engine/checksum_mismatch";
    }
    return "engine/internal";
}

void throwIfFailed(rwkv5_status status, const rwkv5_error &err) {
    if (status != RWKV5_OK) {
        throw EngineFailure(statusCode(status), err.message);
    }
}

Napi::Error engineError(Napi::Env env, const std::string &code, const std::string &message) {
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    return error;
}
