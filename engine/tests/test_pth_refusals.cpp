// Broken and foreign files, built from fixture bytes into temp files: each
// must fail with the right rwkv5_status and a message naming the file and the
// fault, never crash. Ends with a seeded mutation/truncation sweep.
#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include "ModelShape.h"
#include "pth/PthArchive.h"
#include "test_util.h"

namespace {

using namespace test::zip;
void put64(uint8_t *p, uint64_t v) { put32(p, uint32_t(v)), put32(p + 4, uint32_t(v >> 32)); }

size_t find(const Bytes &bytes, const std::string &text, size_t from = 0) {
    const Bytes needle(text.begin(), text.end());
    const auto it = std::search(bytes.begin() + long(from), bytes.end(), needle.begin(), needle.end());
    return it == bytes.end() ? std::string::npos : size_t(it - bytes.begin());
}

// Replaces every occurrence of `from` by the same-length `to`; returns the count.
int replace_all(Bytes &bytes, const std::string &from, const std::string &to) {
    int count = 0;
    for (size_t at = find(bytes, from); at != std::string::npos; at = find(bytes, from, at + 1)) {
        std::memcpy(bytes.data() + at, to.data(), to.size());
        count++;
    }
    return count;
}

// Replaces the first occurrence of `from` after `anchor` by `to` (same length).
bool replace_after(Bytes &bytes, const std::string &anchor, const std::string &from, const std::string &to) {
    const size_t start = find(bytes, anchor);
    if (start == std::string::npos) return false;
    const size_t at = find(bytes, from, start + anchor.size());
    if (at == std::string::npos) return false;
    std::memcpy(bytes.data() + at, to.data(), to.size());
    return true;
}

struct Layout {
    size_t pickle_start;  // data of the first entry (torch writes data.pkl first)
    size_t eocd;
    size_t cd_offset;
    size_t cd_entries;
};

Layout layout(const Bytes &b) {
    Layout l{};
    l.pickle_start = 30 + le16(&b[26]) + le16(&b[28]);
    l.eocd = b.size() - 22;
    l.cd_offset = le32(&b[l.eocd + 16]);
    l.cd_entries = le16(&b[l.eocd + 10]);
    return l;
}

// The same archive with every central-directory size and offset moved into a
// Zip64 extra field (0xFFFFFFFF in the 32-bit fields), as torch writes them for
// the entries of a file beyond 4 GiB, and the EOCD fields saturated.
Bytes as_zip64_everywhere(const Bytes &in) {
    const Layout l = layout(in);
    Bytes out(in.begin(), in.begin() + long(l.cd_offset));
    size_t pos = l.cd_offset;
    for (size_t i = 0; i < l.cd_entries; i++) {
        const uint8_t *h = &in[pos];
        const uint16_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
        Bytes header(h, h + 46 + name_len);
        put16(&header[30], 28);
        put32(&header[20], 0xFFFFFFFF);
        put32(&header[24], 0xFFFFFFFF);
        put32(&header[42], 0xFFFFFFFF);
        uint8_t extra[28];
        put16(extra, 1);
        put16(extra + 2, 24);
        put64(extra + 4, le32(h + 24));
        put64(extra + 12, le32(h + 20));
        put64(extra + 20, le32(h + 42));
        header.insert(header.end(), extra, extra + 28);
        out.insert(out.end(), header.begin(), header.end());
        pos += 46 + name_len + extra_len + comment_len;
    }
    const uint64_t cd_size = out.size() - l.cd_offset, record = out.size();
    uint8_t tail[56 + 20 + 22] = {};
    put32(tail, 0x06064b50);
    put64(tail + 4, 44);
    put16(tail + 12, 45);
    put16(tail + 14, 45);
    put64(tail + 24, l.cd_entries);
    put64(tail + 32, l.cd_entries);
    put64(tail + 40, cd_size);
    put64(tail + 48, l.cd_offset);
    put32(tail + 56, 0x07064b50);
    put64(tail + 64, record);
    put32(tail + 72, 1);
    uint8_t *eocd = tail + 76;
    put32(eocd, 0x06054b50);
    put16(eocd + 8, 0xFFFF);
    put16(eocd + 10, 0xFFFF);
    put32(eocd + 12, 0xFFFFFFFF);
    put32(eocd + 16, 0xFFFFFFFF);
    out.insert(out.end(), tail, tail + sizeof(tail));
    return out;
}

void expect_open_error(test::TempDir &dir, const char *what, const Bytes &bytes, rwkv5_status code,
                       std::vector<std::string> parts) {
    const std::string path = dir.write(std::string(what) + ".pth", bytes);
    parts.push_back(path + ": ");
    test::expect_error(what, code, parts, [&] { rwkv5::PthArchive::open(path); });
}

void expect_inspect_error(test::TempDir &dir, const char *what, const Bytes &bytes, rwkv5_status code,
                          std::vector<std::string> parts) {
    const std::string path = dir.write(std::string(what) + ".pth", bytes);
    parts.push_back(path + ": ");
    test::expect_error(what, code, parts, [&] { rwkv5::inspect_model(*rwkv5::PthArchive::open(path)); });
}

void files_that_are_not_checkpoints(test::TempDir &dir) {
    const std::string missing = dir.path() + "/does-not-exist.pth";
    test::expect_error("nonexistent", RWKV5_ERR_IO, {missing + ": cannot open"},
                       [&] { rwkv5::PthArchive::open(missing); });
    test::expect_error("directory", RWKV5_ERR_IO, {dir.path() + ": not a regular file"},
                       [&] { rwkv5::PthArchive::open(dir.path()); });
    expect_open_error(dir, "empty", {}, RWKV5_ERR_BAD_ARCHIVE, {"empty file"});
    std::mt19937 rng(7);
    Bytes noise(65536);
    for (uint8_t &byte : noise) byte = uint8_t(rng());
    expect_open_error(dir, "noise", noise, RWKV5_ERR_BAD_ARCHIVE, {"not a ZIP archive", "is this a .pth"});
    const std::string text = "{\"hello\": \"this is a JSON file, not a checkpoint\"}\n";
    expect_open_error(dir, "text", Bytes(text.begin(), text.end()), RWKV5_ERR_BAD_ARCHIVE, {"not a ZIP archive"});
    expect_open_error(dir, "tiny", Bytes{'P', 'K'}, RWKV5_ERR_BAD_ARCHIVE, {"not a ZIP archive"});
    const Bytes legacy = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    expect_open_error(dir, "legacy", legacy, RWKV5_ERR_BAD_ARCHIVE, {"legacy (non-ZIP) torch.save"});
}

void truncated_files(test::TempDir &dir, const Bytes &good) {
    const Layout l = layout(good);
    const size_t cuts[] = {1, 4, 100, l.pickle_start + 500, good.size() / 2, l.cd_offset - 1, l.cd_offset + 200,
                           good.size() - 90, good.size() - 60, good.size() - 22, good.size() - 10, good.size() - 1};
    for (const size_t cut : cuts) {
        const std::string what = "cut at " + std::to_string(cut);
        const std::string path = dir.write("cut.pth", good.data(), cut);
        // A file cut before its 4-byte signature is just too short to be a ZIP.
        const std::string expected = cut >= 4 ? "truncated" : "not a ZIP archive";
        test::expect_error(what.c_str(), RWKV5_ERR_BAD_ARCHIVE, {path + ": ", expected},
                           [&] { rwkv5::PthArchive::open(path); });
    }
    // The directory intact but an entry claiming more bytes than the file has.
    Bytes oversized = good;
    put32(&oversized[l.cd_offset + 20], 0x7fffffff);
    expect_open_error(dir, "oversized", oversized, RWKV5_ERR_BAD_ARCHIVE,
                      {"truncated: entry '", "data.pkl' ends at byte ", "but the file has " +
                                                                           std::to_string(good.size()) + " bytes"});
}

void broken_archives(test::TempDir &dir, const Bytes &good) {
    const Layout l = layout(good);
    Bytes no_pickle = good;
    CHECK(replace_all(no_pickle, "/data.pkl", "/data.pkX") == 2);
    expect_open_error(dir, "no_pickle", no_pickle, RWKV5_ERR_BAD_ARCHIVE, {"data.pkl", "not a torch.save"});

    Bytes no_storage = good;
    CHECK(replace_all(no_storage, "bf16/data/7F", "bf16/data/ZF") == 1);
    CHECK(replace_all(no_storage, "bf16/data/7PK", "bf16/data/ZPK") == 1);
    expect_open_error(dir, "no_storage", no_storage, RWKV5_ERR_BAD_ARCHIVE, {"has no entry", "data/7'"});

    Bytes compressed = good;
    put16(&compressed[l.cd_offset + 10], 8);
    expect_open_error(dir, "compressed", compressed, RWKV5_ERR_BAD_ARCHIVE, {"is compressed (method 8)"});

    Bytes wrong_local = good;
    put32(&wrong_local[0], 0x12345678);
    expect_open_error(dir, "wrong_local", wrong_local, RWKV5_ERR_BAD_ARCHIVE, {"no local file header"});

    Bytes cd_count = good;
    put64(&cd_count[good.size() - 22 - 20 - 56 + 32], 1000000);
    expect_open_error(dir, "cd_count", cd_count, RWKV5_ERR_BAD_ARCHIVE, {"corrupt central directory"});

    // Zip64 extra fields in every central entry (the > 4 GiB layout) read the same.
    const std::string zip64 = dir.write("zip64.pth", as_zip64_everywhere(good));
    const std::string plain = dir.write("plain.pth", good);
    const auto a = rwkv5::PthArchive::open(zip64);
    const auto b = rwkv5::PthArchive::open(plain);
    CHECK(a->tensors().size() == b->tensors().size());
    for (size_t i = 0; i < a->tensors().size() && i < b->tensors().size(); i++) {
        const rwkv5::TensorRef &x = a->tensors()[i], &y = b->tensors()[i];
        CHECK_MSG(x.name == y.name && x.shape == y.shape && x.nbytes() == y.nbytes() &&
                      std::memcmp(x.data, y.data, x.nbytes()) == 0, x.name);
    }
    CHECK(rwkv5::compute_model_id(*a) == rwkv5::compute_model_id(*b));
}

void broken_pickles(test::TempDir &dir, const Bytes &good) {
    const Layout l = layout(good);
    Bytes opcode = good;
    opcode[l.pickle_start + 2] = 0xff;
    expect_open_error(dir, "opcode", opcode, RWKV5_ERR_BAD_PICKLE,
                      {"data.pkl: unsupported pickle opcode 0xff at byte 2"});

    // BINUNICODE of the first key claims 2 GB: the reader must not run past the entry.
    Bytes long_string = good;
    const size_t x = find(long_string, std::string("X\x0a\x00\x00\x00" "emb.weight", 15));
    CHECK(x != std::string::npos);
    put32(&long_string[x + 1], 0x7fffffff);
    expect_open_error(dir, "long_string", long_string, RWKV5_ERR_BAD_PICKLE, {"truncated pickle"});

    Bytes dtype = good;
    CHECK(replace_all(dtype, "BFloat16Storage", "BFloat17Storage") == 1);
    expect_open_error(dir, "dtype", dtype, RWKV5_ERR_BAD_DTYPE, {"torch.BFloat17Storage", "emb.weight"});

    // The pickle runs code: a foreign callable is refused, not executed.
    Bytes callable = good;
    CHECK(replace_all(callable, "collections\nOrderedDict", "subprocess\ncheck_output") == 1);
    expect_open_error(dir, "callable", callable, RWKV5_ERR_BAD_PICKLE, {"subprocess.check_output"});
}

void broken_tensors(test::TempDir &dir, const Bytes &good) {
    // ln1.weight [128], stride (1,), offset 0 in its own 128-element storage.
    const std::string ln1 = "blocks.1.ln1.weight";
    Bytes offset = good;
    CHECK(replace_after(offset, ln1, std::string("QK\x00K\x80\x85", 6), std::string("QK\x01K\x80\x85", 6)));
    expect_open_error(dir, "offset", offset, RWKV5_ERR_BAD_SHAPE, {ln1, "outside its storage"});

    Bytes numel = good;
    CHECK(replace_after(numel, ln1, std::string("K\x80tq", 4), std::string("K\xfftq", 4)));
    expect_open_error(dir, "numel", numel, RWKV5_ERR_BAD_ARCHIVE, {"holds 256 bytes", ln1});

    Bytes stride = good;
    CHECK(replace_after(stride, "emb.weight", std::string("K\x80K\x01\x86", 5), std::string("K\x01K\x80\x86", 5)));
    expect_open_error(dir, "stride", stride, RWKV5_ERR_BAD_SHAPE, {"emb.weight", "not contiguous"});

    Bytes shape = good;
    CHECK(replace_after(shape, ln1, std::string("QK\x00K\x80\x85", 6), std::string("QK\x00K\x40\x85", 6)));
    expect_inspect_error(dir, "shape", shape, RWKV5_ERR_BAD_SHAPE, {ln1, "shape [64], expected [128]"});
}

void wrong_models(test::TempDir &dir, const Bytes &good) {
    Bytes v6 = good;
    CHECK(replace_all(v6, "time_mix", "time_maa") == 18);
    expect_inspect_error(dir, "v6", v6, RWKV5_ERR_UNSUPPORTED_MODEL, {"RWKV-6", "RWKV-5.2 only"});

    Bytes v4 = good;
    // 6 tensor keys and 3 module names in the `_metadata` dict.
    CHECK(replace_all(v4, "ln_x", "ln_y") == 9);
    expect_inspect_error(dir, "v4", v4, RWKV5_ERR_UNSUPPORTED_MODEL, {"RWKV-4 checkpoint", "RWKV-5.2 only"});

    // "blocks.000.att.w0" is block 0's RWKV-7 decay key, the same length as "blocks.0.ln0.bias".
    Bytes v7 = good;
    CHECK(replace_all(v7, "blocks.0.ln0.bias", "blocks.000.att.w0") == 1);
    expect_inspect_error(dir, "v7", v7, RWKV5_ERR_UNSUPPORTED_MODEL, {"RWKV-7", "RWKV-5.2 only"});

    Bytes v50 = good;
    CHECK(replace_all(v50, "att.gate.weight", "att.gatX.weight") == 3);
    expect_inspect_error(dir, "v5.0", v50, RWKV5_ERR_UNSUPPORTED_MODEL, {"RWKV-5.0"});

    // time_decay [2, 64] stride (64, 1) -> [128, 1] stride (1, 1): the 5.1 layout.
    Bytes v51 = good;
    CHECK(replace_after(v51, "blocks.0.att.time_decay", std::string("K\x02K\x40\x86", 5),
                        std::string("K\x80K\x01\x86", 5)));
    CHECK(replace_after(v51, "blocks.0.att.time_decay", std::string("K\x40K\x01\x86", 5),
                        std::string("K\x01K\x01\x86", 5)));
    expect_inspect_error(dir, "v5.1", v51, RWKV5_ERR_UNSUPPORTED_MODEL, {"RWKV-5.1", "[128, 1]"});

    Bytes missing = good;
    CHECK(replace_all(missing, "blocks.2.ffn.value.weight", "blocks.2.ffn.value.weighX") == 1);
    expect_inspect_error(dir, "missing", missing, RWKV5_ERR_MISSING_TENSOR, {"'blocks.2.ffn.value.weight'"});

    Bytes time_first = good;
    CHECK(replace_all(time_first, "time_faaaa", "time_first") == 3);
    const std::string path = dir.write("time_first.pth", time_first);
    const rwkv5::ModelShape shape = rwkv5::inspect_model(*rwkv5::PthArchive::open(path));
    CHECK(shape.time_first && shape.n_layer == 3);
}

// Random byte flips in the pickle and the directory, and every cut of the
// last 100 bytes: each open either succeeds or throws rwkv5::Error.
void mutation_sweep(test::TempDir &dir) {
    const Bytes good = test::read_file(test::fixture("models/deep-L7-C64-V512.bf16.pth"));
    const Layout l = layout(good);
    std::mt19937 rng(1234);
    int opened = 0, refused = 0;
    auto attempt = [&](const Bytes &bytes) {
        const std::string path = dir.write("mutant.pth", bytes);
        try {
            const auto archive = rwkv5::PthArchive::open(path);
            opened++;
            uint64_t sum = 0;
            for (const rwkv5::TensorRef &t : archive->tensors()) {
                if (t.numel) sum += t.data[0] + t.data[t.nbytes() - 1];
            }
            (void)sum;
            rwkv5::compute_model_id(*archive);
            rwkv5::inspect_model(*archive);
        } catch (const rwkv5::Error &e) {
            refused++;
            CHECK_MSG(std::string(e.what()).rfind(path + ": ", 0) == 0, e.what());
        }
    };
    for (int i = 0; i < 400; i++) {
        Bytes bytes = good;
        const int flips = 1 + int(rng() % 4);
        for (int f = 0; f < flips; f++) {
            const bool in_pickle = rng() % 2;
            const size_t begin = in_pickle ? l.pickle_start : l.cd_offset;
            const size_t span = in_pickle ? 9000 : good.size() - l.cd_offset;
            bytes[begin + rng() % span] = uint8_t(rng());
        }
        attempt(bytes);
    }
    for (size_t cut = good.size() - 100; cut < good.size(); cut++) attempt(Bytes(good.begin(), good.begin() + long(cut)));
    CHECK(refused > 100);
    std::printf("mutation sweep: %d opened, %d refused\n", opened, refused);
}

}  // namespace

int main() {
    test::TempDir dir;
    const Bytes good = test::read_file(test::fixture("models/tiny-L3-C128-V1024.bf16.pth"));
    CHECK(good.size() > 1000000);
    files_that_are_not_checkpoints(dir);
    truncated_files(dir, good);
    broken_archives(dir, good);
    broken_pickles(dir, good);
    broken_tensors(dir, good);
    wrong_models(dir, good);
    mutation_sweep(dir);
    return test::finish("test_pth_refusals");
}
