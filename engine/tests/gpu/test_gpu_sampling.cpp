// gpu tier: device sampling == host sampling (whose oracle is the TS Sampler,
// test/engine/engineSampling.test.ts). Replies of many steps on 16 slots at
// once, rows flat, peaked, tied and banned, every parameter mix, through
// rwkv5_sample_logits on a CUDA and a CPU context: >= 10,000 cases, >= 99.9 %
// the same token, every difference a tie within 1e-6 of a boundary (the
// worst printed). Then decode with sampling on the device against the host
// sampler on the logits the decode returns. Exits 77 (CTest skip) without a
// usable CUDA device.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <random>

#include "../../bench/RandomPth.h"
#include "ForwardFixture.h"
#include "Sampler.h"

namespace {

constexpr int kSkip = 77;
constexpr int32_t kSlots = 16;
constexpr int32_t kStepsPerReply = 24;
constexpr double kTie = 1e-6;

struct Rng {
    std::mt19937_64 g;
    explicit Rng(uint64_t seed) : g(seed) {}
    double uniform() { return std::uniform_real_distribution<double>(0, 1)(g); }
    template <class T>
    T pick(const std::vector<T> &v) { return v[size_t(uniform() * double(v.size())) % v.size()]; }
};

// The shapes of randomLogits.ts: flat (a random-weight model), peaked (a
// trained one), ties (a handful of values), banned (peaked, a fifth at -inf).
std::vector<float> row(int shape, int32_t V, Rng &r) {
    std::normal_distribution<float> normal(0, 1);
    std::vector<float> l(static_cast<size_t>(V));
    for (float &x : l) x = shape == 0 ? 0.05f * normal(r.g) : shape == 2 ? float(int(r.uniform() * 4)) / 2 : 2 * normal(r.g);
    if (shape == 1 || shape == 3)
        for (int i = 0; i < 8; ++i) l[size_t(r.uniform() * V) % size_t(V)] = 12 + float(r.uniform()) * 4;
    if (shape == 3)
        for (int32_t i = 1; i < V; ++i)
            if (r.uniform() < 0.2) l[size_t(i)] = -std::numeric_limits<float>::infinity();
    return l;
}

struct Reply {
    rwkv5_sampling_params p{};
    std::vector<int32_t> banned, uncounted;
    rwkv5::PenaltyCounts mirror;  // the host's counts, for the tie distance
};

void new_reply(Reply &rep, int32_t V, Rng &r) {
    auto ids = [&](int n) {
        std::vector<int32_t> v;
        for (int i = 0; i < n; ++i) v.push_back(int32_t(r.uniform() * V) % V);
        return v;
    };
    rep.p = rwkv5_sampling_params{};
    rep.p.temperature = r.pick<double>({0, 1, 1, 0.7, 1.5, 0.2});
    rep.p.top_p = r.pick<double>({0, 0.05, 0.3, 0.3, 0.6, 0.85, 0.999, 1});
    rep.p.top_k = r.pick<int32_t>({0, 0, 1, 5, 40});
    rep.p.presence_penalty = r.pick<double>({0, 0.5, 1.2});
    rep.p.frequency_penalty = r.pick<double>({0, 0.5});
    rep.p.penalty_decay = r.pick<double>({0.996, 0.5, 1, 0});
    const double b = r.uniform();
    rep.banned = b < 1.0 / 3 ? std::vector<int32_t>{} : b < 2.0 / 3 ? std::vector<int32_t>{0} : ids(3);
    rep.uncounted = r.uniform() < 0.5 ? std::vector<int32_t>{} : ids(200);
    rep.p.banned = rep.banned.data();
    rep.p.n_banned = int32_t(rep.banned.size());
    rep.p.uncounted = rep.uncounted.data();
    rep.p.n_uncounted = int32_t(rep.uncounted.size());
    rep.mirror.clear();
}

// How close the host's decision was to a boundary: the greedy logits' gap,
// else the top-p cut's float32 running sum and the draw's cumulative weights.
double tie_distance(const std::vector<float> &logits, const Reply &rep, int32_t a, int32_t b) {
    std::vector<float> w = logits;
    rep.mirror.apply(w.data(), rep.p.presence_penalty, rep.p.frequency_penalty);
    for (int32_t id : rep.banned) w[size_t(id)] = -std::numeric_limits<float>::infinity();
    if (rep.p.temperature == 0) return std::fabs(double(w[size_t(a)]) - double(w[size_t(b)]));
    const double max = *std::max_element(w.begin(), w.end());
    double sum = 0;
    for (float x : w) sum += std::exp(double(x) - max);
    std::vector<float> p(w.size());
    for (size_t i = 0; i < w.size(); ++i) p[i] = float(double(float(std::exp(double(w[i]) - max))) / sum);
    std::vector<int32_t> order(w.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return p[size_t(x)] > p[size_t(y)]; });
    double nearest = 1e9;
    float cumulative = 0;
    size_t kept = order.size();
    for (size_t i = 0; i < order.size(); ++i) {
        cumulative += p[size_t(order[i])];
        nearest = std::min(nearest, std::fabs(double(cumulative) - double(float(rep.p.top_p))));
        if (cumulative >= float(rep.p.top_p)) {
            kept = i + 1;
            while (kept < order.size() && p[size_t(order[kept])] == p[size_t(order[i])]) ++kept;
            break;
        }
    }
    if (rep.p.top_k > 0 && size_t(rep.p.top_k) < kept) kept = size_t(rep.p.top_k);
    std::vector<double> weights(kept);
    double total = 0;
    for (size_t i = 0; i < kept; ++i) {
        const double pi = p[size_t(order[i])];
        weights[i] = rep.p.temperature == 1 ? pi : double(float(std::pow(pi, 1 / rep.p.temperature)));
        total += weights[i];
    }
    double c = 0;
    for (double wi : weights) {
        c += wi / total;
        nearest = std::min(nearest, std::fabs(rep.p.uniform - c));
    }
    return nearest;
}

struct Tally {
    int64_t cases = 0, differ = 0;
    double worst = 0;
    std::string worst_what;
};

// Replies on kSlots slots, `rounds` of them, sampled on both contexts.
void compare(rwkv5_context *gpu, rwkv5_context *cpu, int32_t V, int rounds, uint64_t seed, Tally &t) {
    Rng r(seed);
    std::vector<Reply> replies(kSlots);
    std::vector<int32_t> slots(kSlots);
    std::iota(slots.begin(), slots.end(), 0);
    for (int round = 0; round < rounds; ++round) {
        for (Reply &rep : replies) new_reply(rep, V, r);
        std::vector<bool> fresh(kSlots, true);
        for (int step = 0; step < kStepsPerReply; ++step) {
            std::vector<float> logits;
            std::vector<int> shapes;
            std::vector<rwkv5_sampling_params> params;
            for (int32_t s = 0; s < kSlots; ++s) {
                shapes.push_back(int(r.uniform() * 4) % 4);
                const std::vector<float> l = row(shapes.back(), V, r);
                logits.insert(logits.end(), l.begin(), l.end());
                replies[size_t(s)].p.uniform = r.uniform();
                replies[size_t(s)].p.new_reply = fresh[size_t(s)];
                if (fresh[size_t(s)]) replies[size_t(s)].mirror.clear();
                fresh[size_t(s)] = false;
                params.push_back(replies[size_t(s)].p);
            }
            std::vector<int32_t> on_gpu(kSlots), on_cpu(kSlots);
            rwkv5_error err{};
            CHECK_MSG(rwkv5_sample_logits(gpu, logits.data(), kSlots, slots.data(), params.data(), on_gpu.data(), &err) ==
                          RWKV5_OK,
                      err.message);
            CHECK_MSG(rwkv5_sample_logits(cpu, logits.data(), kSlots, slots.data(), params.data(), on_cpu.data(), &err) ==
                          RWKV5_OK,
                      err.message);
            for (int32_t s = 0; s < kSlots; ++s) {
                Reply &rep = replies[size_t(s)];
                ++t.cases;
                if (on_gpu[size_t(s)] != on_cpu[size_t(s)]) {
                    ++t.differ;
                    const std::vector<float> l(logits.begin() + int64_t(s) * V, logits.begin() + int64_t(s + 1) * V);
                    const double d = tie_distance(l, rep, on_gpu[size_t(s)], on_cpu[size_t(s)]);
                    if (d >= t.worst) {
                        t.worst = d;
                        t.worst_what = fx::fmt("V %d shape %d step %d T %g top-p %g top-k %d u %.17g: gpu %d cpu %d", V,
                                               shapes[size_t(s)], step, rep.p.temperature, rep.p.top_p, rep.p.top_k,
                                               rep.p.uniform, on_gpu[size_t(s)], on_cpu[size_t(s)]);
                    }
                    fresh[size_t(s)] = true;  // the counts differ from here: a new reply on both
                    continue;
                }
                const bool uncounted = std::find(rep.uncounted.begin(), rep.uncounted.end(), on_cpu[size_t(s)]) != rep.uncounted.end();
                rep.mirror.accept(on_cpu[size_t(s)], rep.p.penalty_decay, uncounted ? 0 : 1);
            }
        }
    }
}

// Decode with sampling on the device: each item's token is the host's on the
// row the decode returned (fresh counts on both).
void check_decode_samples(rwkv5_model *gpu_model, rwkv5_context *cpu) {
    rwkv5_model_info info{};
    rwkv5_model_get_info(gpu_model, &info);
    rwkv5_context *gpu = fx::context(gpu_model, 4);
    const int32_t prompt[] = {5, 17, 99, 3, 250, 7, 11};
    rwkv5_sampling_params p{};
    p.temperature = 0.9;
    p.top_p = 0.8;
    p.penalty_decay = 0.996;
    p.new_reply = true;
    const rwkv5_logits_mode modes[] = {RWKV5_LOGITS_LAST, RWKV5_LOGITS_ALL, RWKV5_LOGITS_LAST, RWKV5_LOGITS_ALL};
    const int32_t lengths[] = {1, 3, 7, 2};
    std::vector<rwkv5_batch_item> items;
    std::vector<rwkv5_sampling_params> params(4, p);
    for (int32_t i = 0; i < 4; ++i) {
        params[size_t(i)].uniform = 0.1 + 0.2 * i;
        items.push_back({i, prompt, lengths[i], modes[i], &params[size_t(i)]});
    }
    rwkv5_error err{};
    CHECK_MSG(rwkv5_decode(gpu, items.data(), 4, &err) == RWKV5_OK, err.message);
    for (int32_t i = 0; i < 4; ++i) {
        int32_t rows = 0;
        const float *l = rwkv5_get_logits(gpu, i, &rows);
        CHECK(l != nullptr && rows == (modes[i] == RWKV5_LOGITS_ALL ? lengths[i] : 1));
        if (!l) continue;
        int32_t host = -1;
        const int32_t slot = i;
        CHECK(rwkv5_sample_logits(cpu, l + int64_t(rows - 1) * info.n_vocab, 1, &slot, &params[size_t(i)], &host, &err) ==
              RWKV5_OK);
        std::printf("  decode item %d (%d tokens): device token %d, host token %d\n", i, lengths[i], rwkv5_get_token(gpu, i),
                    host);
        CHECK_MSG(rwkv5_get_token(gpu, i) == host, fx::fmt("item %d: device %d, host %d", i, rwkv5_get_token(gpu, i), host));
    }
    rwkv5_context_free(gpu);
}

}  // namespace

int main() {
    std::printf("%s\n", rwkv5_system_info());
    if (!rwkv5_supports_cuda()) {
        std::printf("SKIP test_gpu_sampling: no usable CUDA device (see the system info above)\n");
        return kSkip;
    }
    const std::string tiny = std::string(RWKV5_FIXTURES_DIR) + "/models/tiny-L3-C128-V1024.fp32.pth";
    const char *tmp = std::getenv("TMPDIR");
    const std::string wide = std::string(tmp ? tmp : "/tmp") + "/rwkv5-gpu-sampling-v65536.pth";
    bench::write_random_pth(wide, bench::Shape{1, 64, 1, 64, 128, 65536}, [](float) {});
    Tally total;
    for (const auto &[path, rounds] : std::vector<std::pair<std::string, int>>{{wide, 12}, {tiny, 16}}) {
        rwkv5_model *gm = fx::load(path, RWKV5_WEIGHTS_16BIT, RWKV5_BACKEND_CUDA);
        rwkv5_model *cm = fx::load(path, RWKV5_WEIGHTS_FP32, RWKV5_BACKEND_CPU);
        CHECK_MSG(gm && cm, path);
        if (!gm || !cm) continue;
        rwkv5_model_info info{};
        rwkv5_model_get_info(gm, &info);
        rwkv5_context *g = fx::context(gm, kSlots), *c = fx::context(cm, kSlots);
        compare(g, c, info.n_vocab, rounds, uint64_t(info.n_vocab), total);
        if (path == tiny) check_decode_samples(gm, c);
        rwkv5_context_free(g);
        rwkv5_context_free(c);
        rwkv5_model_free(gm);
        rwkv5_model_free(cm);
    }
    std::remove(wide.c_str());
    std::printf("device sampling == host sampling: %lld of %lld cases the same (%.3f %%); worst difference %.3g from a "
                "boundary%s%s\n",
                static_cast<long long>(total.cases - total.differ), static_cast<long long>(total.cases),
                100.0 * double(total.cases - total.differ) / double(std::max<int64_t>(total.cases, 1)), total.worst,
                total.differ ? ": " : "", total.worst_what.c_str());
    CHECK(total.cases >= 10000);
    CHECK_MSG(total.differ * 1000 <= total.cases, fx::fmt("%lld differences", static_cast<long long>(total.differ)));
    CHECK_MSG(total.worst <= kTie, fx::fmt("a difference %g from a boundary (> %g)", total.worst, kTie));
    return test::finish("test_gpu_sampling");
}
