// Writes an RWKV-5.2 checkpoint of any shape with random bf16 weights, in
// torch.save's layout (ZIP of stored entries with Zip64 end records, data on
// 64-byte boundaries, a protocol-2 pickle of an OrderedDict of tensors), so a
// 12B-shape model can be made on the benchmark machine itself. Each record's
// CRC-32 is in the central directory (what the engine checks); the local
// headers, written before their data, carry 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <zlib.h>

namespace bench {

struct Shape {
    int64_t n_layer, n_embd, n_head, head_size, dim_ffn, n_vocab;
};

namespace detail {

struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    enum Kind { Matrix, Ones, Zeros, Mix, Decay, Bonus } kind;
    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

inline std::vector<Tensor> tensors(const Shape &s) {
    const int64_t C = s.n_embd, A = s.n_head * s.head_size, F = s.dim_ffn;
    std::vector<Tensor> t;
    t.push_back({"emb.weight", {s.n_vocab, C}, Tensor::Matrix});
    for (int64_t l = 0; l < s.n_layer; ++l) {
        const std::string b = "blocks." + std::to_string(l) + ".";
        t.push_back({b + "ln1.weight", {C}, Tensor::Ones});
        t.push_back({b + "ln1.bias", {C}, Tensor::Zeros});
        t.push_back({b + "ln2.weight", {C}, Tensor::Ones});
        t.push_back({b + "ln2.bias", {C}, Tensor::Zeros});
        if (l == 0) {
            t.push_back({b + "ln0.weight", {C}, Tensor::Ones});
            t.push_back({b + "ln0.bias", {C}, Tensor::Zeros});
        }
        for (const char *m : {"k", "v", "r", "g"}) t.push_back({b + "att.time_mix_" + m, {1, 1, C}, Tensor::Mix});
        t.push_back({b + "att.time_decay", {s.n_head, s.head_size}, Tensor::Decay});
        t.push_back({b + "att.time_faaaa", {s.n_head, s.head_size}, Tensor::Bonus});
        for (const char *m : {"receptance", "key", "value", "output", "gate"})
            t.push_back({b + "att." + m + ".weight", {A, C}, Tensor::Matrix});
        t.push_back({b + "att.ln_x.weight", {A}, Tensor::Ones});
        t.push_back({b + "att.ln_x.bias", {A}, Tensor::Zeros});
        t.push_back({b + "ffn.time_mix_k", {1, 1, C}, Tensor::Mix});
        t.push_back({b + "ffn.time_mix_r", {1, 1, C}, Tensor::Mix});
        t.push_back({b + "ffn.key.weight", {F, C}, Tensor::Matrix});
        t.push_back({b + "ffn.receptance.weight", {C, C}, Tensor::Matrix});
        t.push_back({b + "ffn.value.weight", {C, F}, Tensor::Matrix});
    }
    t.push_back({"ln_out.weight", {C}, Tensor::Ones});
    t.push_back({"ln_out.bias", {C}, Tensor::Zeros});
    t.push_back({"head.weight", {s.n_vocab, C}, Tensor::Matrix});
    return t;
}

inline uint16_t bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// Deterministic value i of a tensor: uniform in ±scale for matrices.
inline float value(const Tensor &t, uint64_t i, uint64_t seed, float scale) {
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = float(z >> 40) / float(1ull << 24);  // [0, 1)
    switch (t.kind) {
        case Tensor::Matrix: return (2.0f * u - 1.0f) * scale;
        case Tensor::Ones: return 1.0f;
        case Tensor::Zeros: return 0.0f;
        case Tensor::Mix: return u;
        case Tensor::Decay: return -6.0f + 6.0f * u;
        case Tensor::Bonus: return 0.5f * u;
    }
    return 0.0f;
}

class Out {
public:
    explicit Out(const std::string &path) : f_(std::fopen(path.c_str(), "wb")), path_(path) {
        if (!f_) throw std::runtime_error("cannot create " + path);
    }
    ~Out() {
        if (f_) std::fclose(f_);
    }
    void bytes(const void *p, size_t n) {
        if (n && std::fwrite(p, 1, n, f_) != n) throw std::runtime_error("write failed: " + path_);
        at_ += n;
    }
    template <class T>
    void le(T v) {
        uint8_t b[sizeof(T)];
        for (size_t i = 0; i < sizeof(T); ++i) b[i] = uint8_t(uint64_t(v) >> (8 * i));
        bytes(b, sizeof(T));
    }
    uint64_t at() const { return at_; }
    void close() {
        if (std::fclose(f_) != 0) throw std::runtime_error("close failed: " + path_);
        f_ = nullptr;
    }

private:
    std::FILE *f_;
    std::string path_;
    uint64_t at_ = 0;
};

struct Entry {
    std::string name;
    uint64_t offset, size;
    uint32_t crc = 0;
};

// Local header whose "FB" padding extra field puts the data on a 64-byte boundary.
inline void local_header(Out &o, const std::string &name, uint64_t size, std::vector<Entry> &entries) {
    entries.push_back({name, o.at(), size});
    const uint64_t unpadded = o.at() + 30 + name.size() + 4;
    const uint16_t pad = uint16_t((64 - unpadded % 64) % 64);
    o.le<uint32_t>(0x04034b50);
    o.le<uint16_t>(45);
    o.le<uint16_t>(0);
    o.le<uint16_t>(0);  // stored
    o.le<uint32_t>(0);  // time, date
    o.le<uint32_t>(0);  // crc: in the central directory
    o.le<uint32_t>(uint32_t(size));
    o.le<uint32_t>(uint32_t(size));
    o.le<uint16_t>(uint16_t(name.size()));
    o.le<uint16_t>(uint16_t(4 + pad));
    o.bytes(name.data(), name.size());
    o.le<uint16_t>(0x4246);
    o.le<uint16_t>(pad);
    const std::string zeros(pad, 'Z');
    o.bytes(zeros.data(), zeros.size());
}

inline void pickle_str(std::string &p, const std::string &s) {
    p += 'X';
    for (int i = 0; i < 4; ++i) p += char((s.size() >> (8 * i)) & 0xff);
    p += s;
}

inline void pickle_int(std::string &p, int64_t v) {
    if (v < 0 || v > 0x7fffffff) throw std::runtime_error("pickle_int: value out of the BININT range");
    p += 'J';
    for (int i = 0; i < 4; ++i) p += char((v >> (8 * i)) & 0xff);
}

inline std::string pickle(const std::vector<Tensor> &ts) {
    std::string p = "\x80\x02";
    p += "ccollections\nOrderedDict\n)R(";
    for (size_t i = 0; i < ts.size(); ++i) {
        const Tensor &t = ts[i];
        pickle_str(p, t.name);
        p += "ctorch._utils\n_rebuild_tensor_v2\n((";
        pickle_str(p, "storage");
        p += "ctorch\nBFloat16Storage\n";
        pickle_str(p, std::to_string(i));
        pickle_str(p, "cpu");
        pickle_int(p, t.numel());
        p += "tQ";
        pickle_int(p, 0);
        p += '(';
        for (int64_t d : t.shape) pickle_int(p, d);
        p += "t(";
        int64_t stride = 1;
        std::vector<int64_t> strides(t.shape.size());
        for (size_t d = t.shape.size(); d-- > 0;) {
            strides[d] = stride;
            stride *= t.shape[d];
        }
        for (int64_t st : strides) pickle_int(p, st);
        p += "t\x89";
        p += "ccollections\nOrderedDict\n)R";
        p += "tR";
    }
    p += "u.";
    return p;
}

}  // namespace detail

// Writes the checkpoint; `progress(fraction)` after each chunk. Uses all cores.
template <class Progress>
void write_random_pth(const std::string &path, const Shape &s, Progress &&progress) {
    using namespace detail;
    const std::vector<Tensor> ts = tensors(s);
    uint64_t total = 0;
    for (const Tensor &t : ts) total += uint64_t(t.numel()) * 2;
    Out o(path);
    std::vector<Entry> entries;
    const std::string prefix = "archive/";
    const std::string pkl = pickle(ts);
    local_header(o, prefix + "data.pkl", pkl.size(), entries);
    o.bytes(pkl.data(), pkl.size());
    entries.back().crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef *>(pkl.data()), pkl.size()));
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<uint16_t> buf(size_t(32) << 20);
    uint64_t done = 0;
    for (size_t i = 0; i < ts.size(); ++i) {
        const Tensor &t = ts[i];
        const uint64_t n = uint64_t(t.numel());
        local_header(o, prefix + "data/" + std::to_string(i), n * 2, entries);
        const float scale = t.shape.size() == 2 ? 1.0f / std::sqrt(float(t.shape[1])) : 1.0f;
        for (uint64_t e0 = 0; e0 < n; e0 += buf.size()) {
            const uint64_t count = std::min<uint64_t>(buf.size(), n - e0);
            std::vector<std::thread> pool;
            for (unsigned w = 0; w < threads; ++w) {
                pool.emplace_back([&, w] {
                    for (uint64_t j = count * w / threads; j < count * (w + 1) / threads; ++j)
                        buf[j] = bf16(value(t, e0 + j, i * 0x1234567ull, scale));
                });
            }
            for (std::thread &th : pool) th.join();
            o.bytes(buf.data(), count * 2);
            entries.back().crc = uint32_t(crc32_z(entries.back().crc, reinterpret_cast<const Bytef *>(buf.data()), count * 2));
            done += count * 2;
            progress(double(done) / double(total));
        }
    }
    local_header(o, prefix + "version", 2, entries);
    o.bytes("3\n", 2);
    entries.back().crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef *>("3\n"), 2));
    const uint64_t cd_offset = o.at();
    for (const Entry &e : entries) {
        o.le<uint32_t>(0x02014b50);
        o.le<uint16_t>(45);
        o.le<uint16_t>(45);
        o.le<uint16_t>(0);
        o.le<uint16_t>(0);
        o.le<uint32_t>(0);
        o.le<uint32_t>(e.crc);
        o.le<uint32_t>(uint32_t(e.size));
        o.le<uint32_t>(uint32_t(e.size));
        o.le<uint16_t>(uint16_t(e.name.size()));
        o.le<uint16_t>(12);  // Zip64 extra: the local header offset
        o.le<uint16_t>(0);
        o.le<uint16_t>(0);
        o.le<uint16_t>(0);
        o.le<uint32_t>(0);
        o.le<uint32_t>(0xFFFFFFFFu);
        o.bytes(e.name.data(), e.name.size());
        o.le<uint16_t>(0x0001);
        o.le<uint16_t>(8);
        o.le<uint64_t>(e.offset);
    }
    const uint64_t cd_size = o.at() - cd_offset, zip64_eocd = o.at();
    o.le<uint32_t>(0x06064b50);
    o.le<uint64_t>(44);
    o.le<uint16_t>(45);
    o.le<uint16_t>(45);
    o.le<uint32_t>(0);
    o.le<uint32_t>(0);
    o.le<uint64_t>(entries.size());
    o.le<uint64_t>(entries.size());
    o.le<uint64_t>(cd_size);
    o.le<uint64_t>(cd_offset);
    o.le<uint32_t>(0x07064b50);
    o.le<uint32_t>(0);
    o.le<uint64_t>(zip64_eocd);
    o.le<uint32_t>(1);
    o.le<uint32_t>(0x06054b50);
    o.le<uint16_t>(0);
    o.le<uint16_t>(0);
    o.le<uint16_t>(uint16_t(std::min<size_t>(entries.size(), 0xFFFF)));
    o.le<uint16_t>(uint16_t(std::min<size_t>(entries.size(), 0xFFFF)));
    o.le<uint32_t>(0xFFFFFFFFu);
    o.le<uint32_t>(0xFFFFFFFFu);
    o.le<uint16_t>(0);
    o.close();
}

}  // namespace bench
