// LlamaModel against the float64 scalar reference (tests/text/tiny_model.h) on tiny random decoders
// (MHA, GQA, Qwen2-style q/k/v biases, tied embeddings), plus the batching invariants:
// batched == single-row, chunked prefill == one-shot prefill, embeddings in == token ids in, and the
// error paths (context overflow, slot reuse, bad start).
// Tolerances: f32 weights, f32 compute: max|Δ|/max|ref| ≤ 1e-4. bf16 compute against the float64
// reference of the same bf16 weights: ≤ 3e-2 (activations are rounded to 8 mantissa bits at every
// module boundary, ~0.4% each, across 2 layers).
#include <gtest/gtest.h>

#include "kernels/backend.h"
#include "text/generator.h"
#include "text/rope.h"
#include "tiny_model.h"

using namespace janus;
using namespace janus::testing;

namespace {

struct Built {
    LmConfig cfg;
    TinyCheckpoint ck;
    std::unique_ptr<LlamaModel> model;
};

Built build(const LmConfig& cfg, DType wdt, ComputeDType cdt, uint64_t seed = 7, bool rope_exact = false) {
    Built b{cfg, make_tiny_checkpoint(cfg, wdt, seed), nullptr};
    Backend& be = cpu_backend();
    auto& ck = b.ck;
    LmWeights w = load_lm_weights(cfg, [&ck](const std::string& n) { return ck.find(n); }, LmTensorNames{}, be,
                                  "tiny");
    LmRunOptions o;
    o.dtype = cdt;
    o.rope_exact = rope_exact;
    b.model = std::make_unique<LlamaModel>(be, cfg, std::move(w), o);
    return b;
}

std::vector<int32_t> some_tokens(int n, int salt, int V) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; i++) t.push_back(int32_t((i * 37 + salt * 11 + 5) % V));
    return t;
}

std::vector<float> row_of(const Tensor& t, int64_t r) {
    auto v = t.to_f32_vector();
    int64_t C = t.dim(1);
    return {v.begin() + r * C, v.begin() + (r + 1) * C};
}

void check_prefill_matches_reference(const LmConfig& cfg, DType wdt = DType::f32) {
    auto b = build(cfg, wdt, ComputeDType::f32);
    KvCache cache(cpu_backend(), cfg, 1, 64, DType::f32);
    auto toks = some_tokens(13, 1, int(cfg.vocab_size));
    auto ref = reference_logits(cfg, b.ck, toks, b.model->inv_freq());
    SeqChunk c;
    c.slot = 0;
    c.start = 0;
    c.tokens = toks;
    c.output = OutputRows::all;
    auto out = b.model->forward({&c, 1}, cache, true);
    ASSERT_EQ(out.logits.dim(0), 13);
    for (int64_t t = 0; t < 13; t++) EXPECT_LE(max_rel_error(row_of(out.logits, t), ref[size_t(t)]), 1e-4) << "pos " << t;
}

}  // namespace

TEST(LlamaModel, MhaPrefillMatchesFloat64Reference) { check_prefill_matches_reference(tiny_config(4)); }
TEST(LlamaModel, GqaPrefillMatchesFloat64Reference) { check_prefill_matches_reference(tiny_config(2)); }
TEST(LlamaModel, Qwen2BiasPrefillMatchesFloat64Reference) { check_prefill_matches_reference(tiny_config(1, true)); }
TEST(LlamaModel, TiedEmbeddingsMatchFloat64Reference) { check_prefill_matches_reference(tiny_config(2, false, true)); }
// f16 / bf16 checkpoints computed in f32 (--dtype f32): the weights' values are exact, so f32 accuracy.
TEST(LlamaModel, F16WeightsF32ComputeMatchFloat64Reference) { check_prefill_matches_reference(tiny_config(2), DType::f16); }
TEST(LlamaModel, Bf16WeightsF32ComputeMatchFloat64Reference) { check_prefill_matches_reference(tiny_config(2), DType::bf16); }

TEST(LlamaModel, Llama3RopeScalingMatchesFloat64Reference) {
    auto cfg = tiny_config(2);
    cfg.rope_scaling.type = "llama3";
    cfg.rope_scaling.factor = 8;
    cfg.rope_scaling.low_freq_factor = 1;
    cfg.rope_scaling.high_freq_factor = 4;
    cfg.rope_scaling.original_max_position = 64;
    cfg.rope_theta = 500000.0f;
    // The scaled frequencies differ from the plain ones in the low-frequency band.
    auto plain = cfg;
    plain.rope_scaling = {};
    auto a = rope_inv_freq(cfg, false), p = rope_inv_freq(plain, false);
    EXPECT_NE(a.back(), p.back());
    EXPECT_FLOAT_EQ(a.front(), p.front());
    check_prefill_matches_reference(cfg);
}

TEST(LlamaModel, DecodeStepsMatchReference) {
    auto cfg = tiny_config(2);
    auto b = build(cfg, DType::f32, ComputeDType::f32);
    KvCache cache(cpu_backend(), cfg, 2, 32, DType::f32);
    auto toks = some_tokens(10, 2, int(cfg.vocab_size));
    auto ref = reference_logits(cfg, b.ck, toks, b.model->inv_freq());
    std::vector<int32_t> head(toks.begin(), toks.begin() + 4);
    SeqChunk c{1, 0, head, {}, OutputRows::last};
    auto out = b.model->forward({&c, 1}, cache, true);
    EXPECT_LE(max_rel_error(row_of(out.logits, 0), ref[3]), 1e-4);
    for (int t = 4; t < 10; t++) {
        SeqChunk d{1, t, std::span<const int32_t>(&toks[size_t(t)], 1), {}, OutputRows::last};
        out = b.model->forward({&d, 1}, cache, true);
        EXPECT_LE(max_rel_error(row_of(out.logits, 0), ref[size_t(t)]), 1e-4) << "pos " << t;
    }
    EXPECT_EQ(cache.length(1), 10);
    EXPECT_EQ(cache.length(0), 0);
}

TEST(LlamaModel, Bf16KvCacheStaysClose) {
    auto cfg = tiny_config(2);
    auto b = build(cfg, DType::f32, ComputeDType::f32);
    KvCache cache(cpu_backend(), cfg, 1, 32, DType::bf16);
    auto toks = some_tokens(9, 3, int(cfg.vocab_size));
    auto ref = reference_logits(cfg, b.ck, toks, b.model->inv_freq());
    SeqChunk c{0, 0, toks, {}, OutputRows::last};
    auto out = b.model->forward({&c, 1}, cache, true);
    EXPECT_LE(max_rel_error(row_of(out.logits, 0), ref[8]), 2e-2);
}

TEST(LlamaModel, Bf16ComputeWithinBf16Rounding) {
    auto cfg = tiny_config(2);
    for (bool exact : {false, true}) {
        auto b = build(cfg, DType::bf16, ComputeDType::auto_, 7, exact);
        EXPECT_TRUE(b.model->bf16());
        // Default bf16 runs use bf16-rounded inv_freq (facts §6.1); --rope-exact keeps f32.
        auto f32freq = rope_inv_freq(cfg, false);
        bool any_diff = false;
        for (size_t j = 0; j < f32freq.size(); j++) {
            any_diff |= b.model->inv_freq()[j] != f32freq[j];
            EXPECT_EQ(b.model->inv_freq()[j], exact ? f32freq[j] : round_bf16(f32freq[j]));
        }
        EXPECT_EQ(any_diff, !exact);
        KvCache cache(cpu_backend(), cfg, 1, 32, b.model->default_kv_dtype());
        auto toks = some_tokens(11, 4, int(cfg.vocab_size));
        auto ref = reference_logits(cfg, b.ck, toks, b.model->inv_freq());
        SeqChunk c{0, 0, toks, {}, OutputRows::all};
        auto out = b.model->forward({&c, 1}, cache, true);
        for (int64_t t = 0; t < 11; t++) {
            auto r = row_of(out.logits, t);
            EXPECT_LE(max_rel_error(r, ref[size_t(t)]), 3e-2) << "pos " << t;
            for (float v : r) EXPECT_EQ(v, round_bf16(v));  // logits are bf16 values, as torch's
        }
    }
}

TEST(LlamaModel, BatchedEqualsSingleRow) {
    auto cfg = tiny_config(2, true);
    auto b = build(cfg, DType::bf16, ComputeDType::f32);
    const int R = 3;
    std::vector<std::vector<int32_t>> prompts = {some_tokens(5, 1, 97), some_tokens(9, 2, 97), some_tokens(2, 3, 97)};
    // Single-row greedy continuations.
    std::vector<std::vector<int32_t>> single(R);
    std::vector<std::vector<std::vector<float>>> single_logits(R);
    for (int r = 0; r < R; r++) {
        KvCache cache(cpu_backend(), cfg, 1, 64, DType::f32);
        std::vector<int32_t> seq = prompts[size_t(r)];
        SeqChunk c{0, 0, seq, {}, OutputRows::last};
        auto out = b.model->forward({&c, 1}, cache, true);
        for (int s = 0; s < 8; s++) {
            auto l = row_of(out.logits, 0);
            single_logits[size_t(r)].push_back(l);
            int32_t tok = argmax(l);
            single[size_t(r)].push_back(tok);
            SeqChunk d{0, int64_t(seq.size()), std::span<const int32_t>(&single[size_t(r)].back(), 1), {}, OutputRows::last};
            seq.push_back(tok);
            out = b.model->forward({&d, 1}, cache, true);
        }
    }
    // All rows together in one cache, prompts prefilled in one step, then batched decode steps; row 1
    // joins one step late (a row may prefill while the others decode).
    KvCache cache(cpu_backend(), cfg, 4, 64, DType::f32);
    const int slot[R] = {3, 0, 2};
    std::vector<std::vector<int32_t>> got(R);
    std::vector<SeqChunk> cs = {{slot[0], 0, prompts[0], {}, OutputRows::last}, {slot[2], 0, prompts[2], {}, OutputRows::last}};
    auto out = b.model->forward(cs, cache, true);
    std::vector<int> order = {0, 2};
    std::vector<int32_t> last(R);
    for (int step = 0; step < 9; step++) {
        for (size_t i = 0; i < order.size(); i++) {
            int r = order[i];
            if (got[size_t(r)].size() >= 8) continue;
            auto l = row_of(out.logits, out.first[i]);
            size_t s = got[size_t(r)].size();
            EXPECT_LE(max_rel_error(l, single_logits[size_t(r)][s]), 1e-5);
            got[size_t(r)].push_back(argmax(l));
            last[size_t(r)] = got[size_t(r)].back();
        }
        cs.clear();
        std::vector<int> next;
        for (int r : {0, 2})
            if (got[size_t(r)].size() < 8) {  // finished rows leave the batch
                cs.push_back({slot[r], int64_t(prompts[size_t(r)].size() + got[size_t(r)].size() - 1),
                              std::span<const int32_t>(&last[size_t(r)], 1), {}, OutputRows::last});
                next.push_back(r);
            }
        if (step == 0) {
            cs.push_back({slot[1], 0, prompts[1], {}, OutputRows::last});
            next.push_back(1);
        } else if (got[1].size() < 8) {
            cs.push_back({slot[1], int64_t(prompts[1].size() + got[1].size() - 1), std::span<const int32_t>(&last[1], 1),
                          {}, OutputRows::last});
            next.push_back(1);
        }
        if (cs.empty()) break;
        order = next;
        out = b.model->forward(cs, cache, true);
    }
    for (int r = 0; r < R; r++) EXPECT_EQ(got[size_t(r)], single[size_t(r)]) << "row " << r;
}

TEST(LlamaModel, ChunkedPrefillEqualsOneShotAndEmbeddingsEqualIds) {
    auto cfg = tiny_config(2);
    auto b = build(cfg, DType::f32, ComputeDType::f32);
    auto toks = some_tokens(20, 5, 97);
    KvCache c1(cpu_backend(), cfg, 1, 32, DType::f32), c2(cpu_backend(), cfg, 1, 32, DType::f32),
        c3(cpu_backend(), cfg, 1, 32, DType::f32);
    SeqChunk all{0, 0, toks, {}, OutputRows::last};
    auto one = row_of(b.model->forward({&all, 1}, c1, true).logits, 0);
    std::vector<float> chunked;
    for (int s = 0; s < 20; s += 7) {
        int e = std::min(20, s + 7);
        SeqChunk part{0, s, std::span<const int32_t>(toks.data() + s, size_t(e - s)), {},
                      e == 20 ? OutputRows::last : OutputRows::none};
        auto out = b.model->forward({&part, 1}, c2, true);
        if (e == 20) {
            chunked = row_of(out.logits, 0);
        } else {
            EXPECT_FALSE(out.logits.defined());
        }
    }
    std::vector<double> oned(one.begin(), one.end());
    EXPECT_LE(max_rel_error(chunked, oned), 1e-5);
    // Ready-made embeddings (what image understanding/generation feed) give the same result as ids.
    Tensor emb = Tensor::empty(DType::f32, {20, cfg.hidden});
    b.model->embed(emb, Tensor::from_i32(toks, {20}));
    SeqChunk e{0, 0, {}, emb, OutputRows::last};
    auto viaemb = row_of(b.model->forward({&e, 1}, c3, true).logits, 0);
    EXPECT_EQ(viaemb, one);
    // Rewind: re-running the last 5 tokens from position 15 reproduces the same logits.
    SeqChunk again{0, 15, std::span<const int32_t>(toks.data() + 15, 5), {}, OutputRows::last};
    auto re = row_of(b.model->forward({&again, 1}, c1, true).logits, 0);
    EXPECT_LE(max_rel_error(re, oned), 1e-5);
}

TEST(LlamaModel, ErrorsAreClear) {
    auto cfg = tiny_config(2);
    auto b = build(cfg, DType::f32, ComputeDType::f32);
    KvCache cache(cpu_backend(), cfg, 2, 8, DType::f32);
    auto toks = some_tokens(9, 1, 97);
    SeqChunk c{0, 0, toks, {}, OutputRows::last};
    try {
        b.model->forward({&c, 1}, cache, true);
        FAIL() << "expected a context overflow error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("context overflow"), std::string::npos) << e.what();
    }
    std::vector<int32_t> two = {1, 2};
    std::vector<SeqChunk> dup = {{1, 0, two, {}, OutputRows::last}, {1, 0, two, {}, OutputRows::last}};
    EXPECT_THROW(b.model->forward(dup, cache, true), Error);
    SeqChunk gap{0, 3, two, {}, OutputRows::last};
    EXPECT_THROW(b.model->forward({&gap, 1}, cache, true), Error);
    std::vector<int32_t> bad = {97};
    SeqChunk oob{0, 0, bad, {}, OutputRows::last};
    EXPECT_THROW(b.model->forward({&oob, 1}, cache, true), Error);
    // A KV cache larger than the memory is refused up front, naming --ctx.
    try {
        KvCache huge(cpu_backend(), cfg, 4, int64_t(1) << 36, DType::f32);
        FAIL() << "expected an out-of-memory error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--ctx"), std::string::npos) << e.what();
    }
    // Missing tensors are listed by name.
    TinyCheckpoint ck = make_tiny_checkpoint(cfg, DType::f32, 1);
    ck.tensors.erase("model.layers.1.mlp.up_proj.weight");
    try {
        load_lm_weights(cfg, [&ck](const std::string& n) { return ck.find(n); }, LmTensorNames{}, cpu_backend(), "x");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj.weight"), std::string::npos);
    }
}

TEST(Generator, ContinuousBatchingMatchesSeparateRuns) {
    auto cfg = tiny_config(2);
    auto b = build(cfg, DType::f32, ComputeDType::f32);
    std::vector<std::vector<int32_t>> prompts = {some_tokens(30, 1, 97), some_tokens(3, 2, 97), some_tokens(12, 3, 97)};
    std::vector<int> max_tokens = {6, 15, 9};
    SamplingParams sp;
    sp.temperature = 0.8f;
    sp.top_k = 20;
    sp.seed = 42;
    std::vector<std::vector<int32_t>> alone;
    for (int r = 0; r < 3; r++) {
        KvCache cache(cpu_backend(), cfg, 1, 64, DType::f32);
        Generator g(*b.model, cache, 8);  // small chunks: the 30-token prompt prefills in 4 steps
        GenerationRequest q;
        q.prompt = prompts[size_t(r)];
        q.max_tokens = max_tokens[size_t(r)];
        q.sampling = sp;
        q.stream = uint64_t(r);
        g.add(q);
        alone.push_back(g.run_all()[0]);
        EXPECT_EQ(int(alone.back().size()), max_tokens[size_t(r)]);
    }
    KvCache cache(cpu_backend(), cfg, 3, 64, DType::f32);
    Generator g(*b.model, cache, 8);
    for (int r = 0; r < 3; r++) {
        GenerationRequest q;
        q.prompt = prompts[size_t(r)];
        q.max_tokens = max_tokens[size_t(r)];
        q.sampling = sp;
        q.stream = uint64_t(r);
        g.add(q);
    }
    auto together = g.run_all();
    for (int r = 0; r < 3; r++) EXPECT_EQ(together[size_t(r)], alone[size_t(r)]) << "row " << r;
    EXPECT_EQ(cache.free_slots(), 3);
    // A stop id ends a row right after it is emitted.
    KvCache c2(cpu_backend(), cfg, 1, 64, DType::f32);
    Generator g2(*b.model, c2);
    GenerationRequest q;
    q.prompt = prompts[1];
    q.max_tokens = 15;
    q.sampling = sp;
    q.stream = 1;
    q.stop_ids = {alone[1][4]};
    g2.add(q);
    auto stopped = g2.run_all()[0];
    size_t first = size_t(std::find(alone[1].begin(), alone[1].end(), alone[1][4]) - alone[1].begin());
    EXPECT_EQ(stopped.size(), first + 1);
    // Context full: a 60-token prompt in a 64-token cache yields at most 5 tokens.
    KvCache c3(cpu_backend(), cfg, 1, 64, DType::f32);
    Generator g3(*b.model, c3);
    q.prompt = some_tokens(60, 9, 97);
    q.stop_ids.clear();
    q.max_tokens = 100;
    g3.add(q);
    EXPECT_EQ(g3.run_all()[0].size(), 5u);
    q.prompt = some_tokens(64, 9, 97);
    EXPECT_THROW(g3.add(q), Error);
    // vocab_limit: ids past the tokenizer's vocabulary are never produced.
    q.prompt = prompts[0];
    q.max_tokens = 30;
    q.vocab_limit = 10;
    g3.add(q);
    auto limited = g3.run_all();
    ASSERT_EQ(limited.size(), 1u);
    EXPECT_EQ(limited[0].size(), 30u);
    for (int32_t t : limited[0]) EXPECT_LT(t, 10);
}
