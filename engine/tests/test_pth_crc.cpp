// A checkpoint of the right size with a flipped byte: the loader checks each
// ZIP record's CRC-32 as it reads the weights and refuses the file with
// RWKV5_ERR_CHECKSUM, naming the tensor (or the record when no single tensor
// owns it), in every weight precision; verify_crc = false loads the same bytes.
#include <cstring>
#include <string>

#include "pth/PthArchive.h"
#include "rwkv5.h"
#include "test_util.h"

namespace {

using namespace test::zip;

// Where tensor `name`'s first byte lies in the file.
size_t tensor_offset(const std::string &model, const std::string &name) {
    const auto archive = rwkv5::PthArchive::open(test::fixture("models/" + model));
    const rwkv5::TensorRef *t = archive->find(name);
    if (!t) {
        std::fprintf(stderr, "%s has no tensor %s\n", model.c_str(), name.c_str());
        std::exit(2);
    }
    return archive->entries()[t->entry].data_offset + size_t(t->data - archive->data(archive->entries()[t->entry]));
}

size_t record_offset(const std::string &model, const std::string &suffix) {
    const auto archive = rwkv5::PthArchive::open(test::fixture("models/" + model));
    for (const rwkv5::ZipEntry &entry : archive->entries()) {
        if (entry.name.size() >= suffix.size() && entry.name.compare(entry.name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return entry.data_offset;
    }
    std::fprintf(stderr, "%s has no record *%s\n", model.c_str(), suffix.c_str());
    std::exit(2);
}

// Loads `path`; returns the status (RWKV5_OK when it loaded) and fills `message`.
rwkv5_status load(const std::string &path, rwkv5_weight_type weights, bool verify, std::string *message) {
    rwkv5_model_params params = rwkv5_model_default_params();
    params.weight_type = weights;
    params.backend = RWKV5_BACKEND_CPU;
    params.n_threads = 2;
    params.verify_crc = verify;
    rwkv5_error err{};
    rwkv5_model *model = rwkv5_model_load(path.c_str(), &params, &err);
    if (model) {
        rwkv5_model_free(model);
        return RWKV5_OK;
    }
    *message = err.message;
    return err.code;
}

void expect_refused(test::TempDir &dir, const std::string &model, size_t offset, const std::vector<std::string> &parts) {
    Bytes bytes = test::read_file(test::fixture("models/" + model));
    const std::string what = model + " flipped at byte " + std::to_string(offset);
    bytes[offset] ^= 0x10;
    const std::string path = dir.write("flipped.pth", bytes);
    for (const rwkv5_weight_type weights : {RWKV5_WEIGHTS_16BIT, RWKV5_WEIGHTS_FP32, RWKV5_WEIGHTS_INT8}) {
        std::string message;
        const rwkv5_status status = load(path, weights, true, &message);
        bool ok = status == RWKV5_ERR_CHECKSUM && message.rfind(path + ": ", 0) == 0;
        for (const std::string &part : parts) ok = ok && message.find(part) != std::string::npos;
        CHECK_MSG(ok, what + ": got status " + std::to_string(int(status)) + ": " + message);
        // The same bytes load without the check: the refusal is the checksum's, not a parse error.
        CHECK_MSG(load(path, weights, false, &message) == RWKV5_OK, what + " without the check: " + message);
    }
}

}  // namespace

int main() {
    test::TempDir dir;
    const std::string bf16 = "tiny-L3-C128-V1024.bf16.pth";
    std::string message;
    CHECK_MSG(load(test::fixture("models/" + bf16), RWKV5_WEIGHTS_16BIT, true, &message) == RWKV5_OK, message);

    // One record per tensor (torch.save's layout): the message names the tensor, wherever in it the byte is.
    for (const char *name : {"emb.weight", "blocks.0.ln1.weight", "blocks.1.att.key.weight", "blocks.2.ffn.value.weight", "head.weight"}) {
        const size_t at = tensor_offset(bf16, name);
        expect_refused(dir, bf16, at, {"tensor '" + std::string(name) + "'", "is corrupt", "CRC-32 0x", "damaged"});
        expect_refused(dir, "tiny-L3-C128-V1024.fp32.pth", tensor_offset("tiny-L3-C128-V1024.fp32.pth", name) + 5,
                       {"tensor '" + std::string(name) + "'", "is corrupt"});
    }
    const size_t last = tensor_offset(bf16, "head.weight") + 2 * 1024 * 128 - 1;
    expect_refused(dir, bf16, last, {"tensor 'head.weight'"});

    // A record no tensor reads: checked at the end of the load.
    expect_refused(dir, bf16, record_offset(bf16, "/version"), {"record '", "/version' is corrupt"});

    // fp16 fixture: every tensor is a view into one shared storage; one CRC cannot say which tensor.
    const std::string fp16 = "tiny-L3-C128-V1024.fp16.pth";
    expect_refused(dir, fp16, tensor_offset(fp16, "blocks.1.att.key.weight") + 3,
                   {"record '", "(the storage of ", "tensors: '", "is corrupt"});

    // The bytes intact but the recorded CRC wrong: refused the same way.
    Bytes wrong_crc = test::read_file(test::fixture("models/" + bf16));
    const size_t eocd = wrong_crc.size() - 22;
    const size_t first_central = le32(&wrong_crc[eocd + 16]);
    put32(&wrong_crc[first_central + 16], le32(&wrong_crc[first_central + 16]) ^ 1u);
    const std::string path = dir.write("wrong-crc.pth", wrong_crc);
    CHECK_MSG(load(path, RWKV5_WEIGHTS_16BIT, true, &message) == RWKV5_ERR_CHECKSUM, message);
    CHECK_MSG(message.find("data.pkl' is corrupt") != std::string::npos, message);
    return test::finish("test_pth_crc");
}
