// Internal error type of the engine: thrown inside, turned into rwkv5_error at
// the C API boundary (c_api.cpp) so that no exception ever crosses it.
#pragma once

#include <stdexcept>
#include <string>

#include "rwkv5.h"

namespace rwkv5 {

class Error : public std::runtime_error {
public:
    Error(rwkv5_status code, const std::string &message) : std::runtime_error(message), code_(code) {}
    rwkv5_status code() const noexcept { return code_; }

private:
    rwkv5_status code_;
};

}  // namespace rwkv5
