// LlamaModel against PyTorch goldens (scripts/reference/make_text_fixtures.py → tests/data/golden/,
// checkpoints under tests/data/models/) for tiny-llama, tiny-llama3-gqa-tied (GQA + tied + llama3
// RoPE scaling), tiny-qwen2 (q/k/v biases) and tiny-janus-lm (a multi_modality checkpoint, sharded
// torch .bin, `language_model.` prefix). Each checkpoint is opened through the model bundle exactly as
// `janus chat` opens it.
// Tolerances (metric: max|cpp − golden| / max|golden| over the tensor):
//   f32: logits and final hidden ≤ 1e-4; free-running greedy tokens identical for all 40 steps, with
//        the 4 prompts decoded together in one continuous batch.
//   bf16 (torch bf16 eager semantics; rounded or exact RoPE inv_freq): logits ≤ 2 × the golden's own
//        bf16-vs-f32 distance (manifest prefill_max_rel_vs_f32), i.e. within bf16 rounding; greedy
//        tokens under teacher forcing (feed torch's tokens, check all 40 choices): our argmax equals
//        torch's unless the two logits are within 2 × tolerance × max|logit| (a bf16 near-tie); and
//        free-running greedy equals torch's for ≥ 32 steps on every row whose golden top-2 margin stays
//        above that threshold (tiny-llama3-gqa-tied in both modes). Our bf16 emulation rounds at
//        module boundaries but computes attention scores and RoPE products in f32 where torch's eager
//        path rounds them to bf16, so ties of 1 bf16 ulp (margin 0.0156) can resolve differently.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/backend.h"
#include "pipelines/model_bundle.h"
#include "text/generator.h"
#include "tests/common/tolerance.h"
#include "tiny_model.h"

using namespace janus;

namespace {

const std::string kData = JANUS_TEST_DATA;

// A golden array as doubles, read by the library's janus::read_npy (tests/common/tolerance.h).
struct Npy {
    std::vector<int64_t> shape;
    std::vector<double> v;
};
Npy read_npy(const std::string& path) {
    Npy n;
    n.v = janus::testing::read_npy_f64(path, &n.shape);
    return n;
}

std::vector<int32_t> ids(const Npy& n) { return {n.v.begin(), n.v.end()}; }

double rel(const std::vector<float>& a, const std::vector<double>& b) { return janus::testing::max_rel_error(a, b); }

struct Golden {
    std::string name, dir;
    nlohmann::json manifest;
    Npy get(const std::string& f) const { return read_npy(dir + "/" + f); }
};
Golden golden(const std::string& name) {
    Golden g{name, kData + "/golden/" + name, {}};
    std::ifstream f(g.dir + "/manifest.json");
    if (!f) throw Error(g.dir + "/manifest.json missing: run scripts/reference/make_text_fixtures.py");
    g.manifest = nlohmann::json::parse(f);
    return g;
}

std::unique_ptr<LlamaModel> open(const std::string& name, const std::string& variant, ComputeDType dt,
                                 bool rope_exact, ModelFamily* fam = nullptr) {
    BundleOptions bo;
    bo.load_tokenizer = false;
    ModelBundle b = open_model_bundle(kData + "/models/" + name + "/" + variant, bo);
    if (fam) *fam = b.family;
    LmRunOptions o;
    o.dtype = dt;
    o.rope_exact = rope_exact;
    return build_language_model(b, cpu_backend(), o);
}

std::vector<float> row(const Tensor& t, int64_t r) {
    auto v = t.to_f32_vector();
    int64_t C = t.dim(1);
    return {v.begin() + r * C, v.begin() + (r + 1) * C};
}
std::vector<double> grow(const Npy& n, int64_t r) {
    int64_t C = n.shape.back();
    return {n.v.begin() + r * C, n.v.begin() + (r + 1) * C};
}

// Prefill logits at every position of rows 0..2 and the last position of row 3; returns the max error.
double check_prefill(LlamaModel& m, const Golden& g, const std::string& mode, double tol) {
    double worst = 0;
    for (int r = 0; r < 4; r++) {
        auto prompt = ids(g.get("prompt_row" + std::to_string(r) + ".npy"));
        KvCache cache(cpu_backend(), m.config(), 1, int64_t(prompt.size()) + 1, m.default_kv_dtype());
        SeqChunk c{0, 0, prompt, {}, r < 3 ? OutputRows::all : OutputRows::last};
        auto out = m.forward({&c, 1}, cache, true);
        if (r < 3) {
            Npy gl = g.get(mode + "_prefill_logits_row" + std::to_string(r) + ".npy");
            for (int64_t t = 0; t < int64_t(prompt.size()); t++) {
                double e = rel(row(out.logits, t), grow(gl, t));
                worst = std::max(worst, e);
                EXPECT_LE(e, tol) << g.name << " " << mode << " row " << r << " pos " << t;
            }
        } else {
            Npy gl = g.get(mode + "_prefill_last_logits_row3.npy");
            double e = rel(row(out.logits, 0), gl.v);
            worst = std::max(worst, e);
            EXPECT_LE(e, tol) << g.name << " " << mode << " row 3 (long prompt)";
        }
    }
    return worst;
}

// All 4 rows greedily in one continuous batch (small prefill chunks).
std::vector<std::vector<int32_t>> greedy_batch(LlamaModel& m, const Golden& g, int n_new) {
    KvCache cache(cpu_backend(), m.config(), 4, 256, m.default_kv_dtype());
    Generator gen(m, cache, 64);
    for (int r = 0; r < 4; r++) {
        GenerationRequest q;
        q.prompt = ids(g.get("prompt_row" + std::to_string(r) + ".npy"));
        q.max_tokens = n_new;
        gen.add(q);
    }
    return gen.run_all();
}

void run_f32(const std::string& name) {
    Golden g = golden(name);
    auto m = open(name, "f32", ComputeDType::f32, true);
    EXPECT_FALSE(m->bf16());
    check_prefill(*m, g, "f32", 1e-4);
    // Final normed hidden states of row 0.
    auto prompt = ids(g.get("prompt_row0.npy"));
    KvCache cache(cpu_backend(), m->config(), 1, 64, DType::f32);
    SeqChunk c{0, 0, prompt, {}, OutputRows::all};
    auto out = m->forward({&c, 1}, cache, false);
    Npy gh = g.get("f32_final_hidden_row0.npy");
    EXPECT_LE(rel(out.hidden.to_f32_vector(), gh.v), 1e-4) << name << " final hidden";
    // Greedy tokens: exact for all 40 steps, rows batched together.
    const int n_new = g.manifest["n_new_tokens"].get<int>();
    auto got = greedy_batch(*m, g, n_new);
    for (int r = 0; r < 4; r++)
        EXPECT_EQ(got[size_t(r)], ids(g.get("f32_greedy_tokens_row" + std::to_string(r) + ".npy")))
            << name << " f32 greedy row " << r;
    // Logits that chose each greedy token of row 0 (decode path through the KV cache).
    Npy gl = g.get("f32_greedy_logits_row0.npy");
    auto toks = ids(g.get("f32_greedy_tokens_row0.npy"));
    KvCache c2(cpu_backend(), m->config(), 1, 128, DType::f32);
    SeqChunk p{0, 0, prompt, {}, OutputRows::last};
    auto o = m->forward({&p, 1}, c2, true);
    for (int s = 0; s < n_new; s++) {
        EXPECT_LE(rel(row(o.logits, 0), grow(gl, s)), 1e-4) << name << " greedy step " << s;
        SeqChunk d{0, int64_t(prompt.size()) + s, std::span<const int32_t>(&toks[size_t(s)], 1), {}, OutputRows::last};
        o = m->forward({&d, 1}, c2, true);
    }
}

void run_bf16(const std::string& name, bool rope_exact) {
    Golden g = golden(name);
    const std::string mode = rope_exact ? "bf16_rope_exact" : "bf16";
    auto m = open(name, "bf16", ComputeDType::auto_, rope_exact);
    EXPECT_TRUE(m->bf16()) << "auto precision on a bf16 checkpoint is bf16";
    const double tol = 2.0 * g.manifest["stats"][mode]["prefill_max_rel_vs_f32"].get<double>();
    double worst = check_prefill(*m, g, mode, tol);
    std::printf("[ info ] %s %s prefill max rel error %.3g (tolerance %.3g)\n", name.c_str(), mode.c_str(), worst, tol);
    const int n_new = g.manifest["n_new_tokens"].get<int>();
    // Teacher-forced: our argmax agrees with torch's token at every step, up to bf16 ties.
    int ties = 0;
    std::vector<double> tie_threshold(4);
    for (int r = 0; r < 4; r++) {
        auto prompt = ids(g.get("prompt_row" + std::to_string(r) + ".npy"));
        auto gt = ids(g.get(mode + "_greedy_tokens_row" + std::to_string(r) + ".npy"));
        std::vector<int32_t> seq = prompt;
        seq.insert(seq.end(), gt.begin(), gt.end() - 1);
        KvCache cache(cpu_backend(), m->config(), 1, 256, m->default_kv_dtype());
        SeqChunk c{0, 0, seq, {}, OutputRows::all};
        auto out = m->forward({&c, 1}, cache, true);
        for (int s = 0; s < n_new; s++) {
            auto l = row(out.logits, int64_t(prompt.size()) - 1 + s);
            int32_t mine = argmax(l);
            float mx = *std::max_element(l.begin(), l.end());
            double scale = 0;
            for (float v : l) scale = std::max(scale, double(std::fabs(v)));
            if (s == 0) tie_threshold[size_t(r)] = 2 * tol * scale;
            if (mine != gt[size_t(s)]) {
                ties++;
                EXPECT_LE(mx - l[size_t(gt[size_t(s)])], 2 * tol * scale)
                    << name << " " << mode << " row " << r << " step " << s << ": torch chose " << gt[size_t(s)]
                    << ", we chose " << mine << " by more than the bf16 tolerance";
            }
        }
    }
    std::printf("[ info ] %s %s teacher-forced argmax differences (bf16 near-ties): %d of %d\n", name.c_str(),
                mode.c_str(), ties, 4 * n_new);
    // Free-running greedy: ≥ 32 equal tokens on rows whose golden top-2 margins stay above the logit
    // tolerance at every step (elsewhere a bf16 near-tie may legitimately flip one token and the
    // continuations diverge from there).
    auto got = greedy_batch(*m, g, n_new);
    const auto& margins = g.manifest["stats"][mode]["greedy_top2_margin_min"];
    for (int r = 0; r < 4; r++) {
        auto gt = ids(g.get(mode + "_greedy_tokens_row" + std::to_string(r) + ".npy"));
        size_t same = 0;
        while (same < gt.size() && got[size_t(r)][same] == gt[same]) same++;
        const double margin = margins[size_t(r)].get<double>();
        std::printf("[ info ] %s %s free greedy row %d: %zu/%d tokens equal (golden min top-2 margin %.4g, "
                    "tie threshold %.3g)\n", name.c_str(), mode.c_str(), r, same, n_new, margin, tie_threshold[size_t(r)]);
        if (margin > tie_threshold[size_t(r)]) {
            EXPECT_GE(same, 32u) << name << " " << mode << " row " << r;
        }
    }
}

}  // namespace

TEST(Golden, TinyLlamaF32) { run_f32("tiny-llama"); }
TEST(Golden, TinyLlama3GqaTiedF32) { run_f32("tiny-llama3-gqa-tied"); }
TEST(Golden, TinyQwen2F32) { run_f32("tiny-qwen2"); }
TEST(Golden, TinyJanusLmF32) {
    ModelFamily fam;
    open("tiny-janus-lm", "f32", ComputeDType::f32, true, &fam);
    EXPECT_EQ(fam, ModelFamily::janus);
    run_f32("tiny-janus-lm");
}
TEST(Golden, TinyLlamaBf16) { run_bf16("tiny-llama", false); }
TEST(Golden, TinyLlamaBf16RopeExact) { run_bf16("tiny-llama", true); }
TEST(Golden, TinyLlama3GqaTiedBf16) { run_bf16("tiny-llama3-gqa-tied", false); }
TEST(Golden, TinyLlama3GqaTiedBf16RopeExact) { run_bf16("tiny-llama3-gqa-tied", true); }
TEST(Golden, TinyQwen2Bf16) { run_bf16("tiny-qwen2", false); }
TEST(Golden, TinyQwen2Bf16RopeExact) { run_bf16("tiny-qwen2", true); }
TEST(Golden, TinyJanusLmBf16) { run_bf16("tiny-janus-lm", false); }
TEST(Golden, TinyJanusLmBf16RopeExact) { run_bf16("tiny-janus-lm", true); }
