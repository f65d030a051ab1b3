// SHA-256 against the FIPS 180-4 / NIST example vectors, whole and in pieces.
#include <string>

#include "Sha256.h"
#include "test_util.h"

namespace {

std::string digest(const std::string &text) {
    rwkv5::Sha256 hash;
    hash.update(text);
    return hash.finish_hex();
}

}  // namespace

int main() {
    CHECK(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(digest("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrs"
                 "tnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    // One million 'a' fed in uneven pieces exercises the buffering across blocks.
    rwkv5::Sha256 hash;
    const std::string chunk(997, 'a');
    size_t left = 1000000;
    while (left > 0) {
        const size_t n = left < chunk.size() ? left : chunk.size();
        hash.update(chunk.data(), n);
        left -= n;
    }
    CHECK(hash.finish_hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Lengths around the 55/56/64-byte padding boundaries, checked piecewise against whole.
    for (size_t len = 50; len < 140; len++) {
        const std::string text(len, 'x');
        rwkv5::Sha256 pieces;
        for (size_t i = 0; i < len; i += 7) pieces.update(text.substr(i, 7));
        CHECK(pieces.finish_hex() == digest(text));
    }
    CHECK(digest(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    CHECK(digest(std::string(56, 'a')) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    CHECK(digest(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    return test::finish("test_pth_sha256");
}
