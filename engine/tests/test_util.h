// Shared helpers of the engine's CTest executables: a tiny CHECK macro that
// records failures (the test returns nonzero), fixture paths and temp files.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "Error.h"

namespace test {

inline int failures = 0;

// Little-endian fields of ZIP records, for tests that rewrite archives
// (`using namespace test::zip;`).
namespace zip {
using Bytes = std::vector<uint8_t>;
inline uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t le32(const uint8_t *p) { return uint32_t(le16(p)) | (uint32_t(le16(p + 2)) << 16); }
inline void put16(uint8_t *p, uint16_t v) { p[0] = uint8_t(v), p[1] = uint8_t(v >> 8); }
inline void put32(uint8_t *p, uint32_t v) { put16(p, uint16_t(v)), put16(p + 2, uint16_t(v >> 16)); }
}  // namespace zip

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            test::failures++;                                                         \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, msg)                                                                     \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s: %s\n", __FILE__, __LINE__, #cond,     \
                         std::string(msg).c_str());                                              \
            test::failures++;                                                                    \
        }                                                                                        \
    } while (0)

// The exit status of main(): 0 when every CHECK passed.
inline int finish(const char *name) {
    if (failures) {
        std::fprintf(stderr, "%s: %d check(s) failed\n", name, failures);
        return 1;
    }
    std::printf("%s: all checks passed\n", name);
    return 0;
}

inline std::string fixture(const std::string &relative) { return std::string(RWKV5_FIXTURES_DIR) + "/" + relative; }

inline std::vector<uint8_t> read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string &path, const void *data, size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char *>(data), std::streamsize(size));
}

// A fresh directory under $TMPDIR (or /tmp), removed with its files on exit.
class TempDir {
public:
    TempDir() {
        const char *base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/rwkv5-test-XXXXXX";
        if (!mkdtemp(pattern.data())) {
            std::perror("mkdtemp");
            std::exit(2);
        }
        path_ = pattern;
    }
    ~TempDir() {
        for (const std::string &file : files_) unlink(file.c_str());
        rmdir(path_.c_str());
    }
    // Writes `size` bytes to a file named `name` inside the directory; returns its path.
    std::string write(const std::string &name, const void *data, size_t size) {
        const std::string file = path_ + "/" + name;
        write_file(file, data, size);
        files_.push_back(file);
        return file;
    }
    std::string write(const std::string &name, const std::vector<uint8_t> &bytes) {
        return write(name, bytes.data(), bytes.size());
    }
    const std::string &path() const { return path_; }

private:
    std::string path_;
    std::vector<std::string> files_;
};

// Runs `fn`, which must throw rwkv5::Error with `code` and a message
// containing every string of `parts`. Reports what happened otherwise.
inline void expect_error(const char *what, rwkv5_status code, const std::vector<std::string> &parts,
                         const std::function<void()> &fn) {
    try {
        fn();
        std::fprintf(stderr, "%s: expected error code %d, but nothing was thrown\n", what, int(code));
        failures++;
    } catch (const rwkv5::Error &e) {
        bool ok = e.code() == code;
        for (const std::string &part : parts) ok = ok && std::string(e.what()).find(part) != std::string::npos;
        if (!ok) {
            std::fprintf(stderr, "%s: expected code %d with %zu message part(s), got code %d: %s\n", what, int(code),
                         parts.size(), int(e.code()), e.what());
            failures++;
        }
    }
}

}  // namespace test
