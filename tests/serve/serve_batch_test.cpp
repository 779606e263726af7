// Continuous batching across request kinds (pipelines/serve_batch.h, pipelines/serve_scheduler.h) on
// the tiny Janus checkpoint on the CPU, f32 and bf16 emulation:
//  - ServeBatch's lm_head on the text rows equals LlamaModel::forward's own logits bit for bit;
//  - a text row, a vision row (spliced image embeddings) and an image request (2 CFG rows per image)
//    run in the SAME forwards, and each one's tokens / image codes are identical to running it alone
//    (and to the plain Generator / ImageGenerator::generate paths), also when the mixed run prefills
//    the prompts in other chunks than the runs alone; a cancelled row leaves at the next step;
//  - the scheduler: a vision request in flight does not hold up a text request (both get their first
//    token in the first forward, the short text one finishes first), chat + image requests share
//    forwards, and results equal the same requests run alone.
// The references are independent code paths (Generator::step, ImageGenerator::generate, separate
// caches); comparisons are exact (same seeds → same tokens and codes).
#include "pipelines/serve_batch.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "janus/generate.h"
#include "janus/tokenizer.h"
#include "kernels/backend.h"
#include "pipelines/generate_engine.h"
#include "pipelines/model_bundle.h"
#include "pipelines/serve_scheduler.h"
#include "pipelines/understand.h"
#include "serve_fixture.h"

using namespace janus;
using serve_test::png_image;
using serve_test::tiny_model;
using serve_test::tiny_options;

namespace {

struct Tiny {
    ModelBundle bundle;
    GenParts parts;
    vision::VqConfig vq;
    std::optional<GenPrompts> prompts;
    std::unique_ptr<ImageEmbedder> vis;
    std::optional<ChatFormat> janus_format;
};

std::unique_ptr<Tiny> open_tiny(const std::string& dtype = "f32") {
    auto t = std::make_unique<Tiny>();
    BundleOptions bo;
    bo.require_tokenizer = true;
    t->bundle = open_model_bundle(tiny_model(), bo);
    Backend& be = get_backend("cpu");
    t->parts.be = &be;
    LmRunOptions ro;
    ro.dtype = compute_dtype_from_name(dtype);
    t->parts.lm = build_language_model(t->bundle, be, ro);
    t->vq = load_gen_parts(t->parts, t->bundle);
    t->prompts.emplace(*t->bundle.tokenizer, t->parts.image_tokens);
    t->vis = ImageEmbedder::load(t->bundle, be);
    t->janus_format = ChatFormat::by_name("janus");
    return t;
}

GenerationRequest text_request(Tiny& t) {
    GenerationRequest r;
    r.prompt = t.janus_format->encode(*t.bundle.tokenizer, {{"user", "tell me about foxes"}}, true);
    r.sampling.temperature = 0.8f;
    r.sampling.seed = 11;
    r.max_tokens = 20;  // no stop ids: runs its full length
    return r;
}

GenerationRequest vision_request(Tiny& t) {
    VisionPrompt vp =
        make_vision_prompt(*t.vis, *t.parts.lm, *t.janus_format, {png_image(40, 30, 3)}, "What is this?");
    GenerationRequest r;
    r.prompt = vp.ids;
    r.prompt_embeds = vp.embeds;
    r.sampling.temperature = 0.7f;
    r.sampling.seed = 5;
    r.max_tokens = 12;
    return r;
}

ImageRequest image_request() {
    ImageRequest r;
    r.prompt = "a red fox";
    r.n = 2;
    r.seed = 7;
    r.cfg = 4.0f;
    return r;
}

struct Outcome {
    std::map<int, std::vector<int32_t>> tokens;  // Generator handle → tokens
    std::map<int, std::vector<int32_t>> codes;   // image index → codes
    std::vector<MixedStepReport> steps;
};

// Runs a ServeBatch until idle, collecting tokens, codes and per-step reports.
void run(ServeBatch& b, Outcome& o) {
    while (!b.idle()) {
        MixedStepReport rep = b.step();
        for (auto& e : rep.text_events)
            if (e.token >= 0) o.tokens[e.handle].push_back(e.token);
        for (auto& im : b.images()->take_finished()) o.codes[im.index] = im.codes;
        rep.text_events.clear();
        o.steps.push_back(std::move(rep));
    }
}

}  // namespace

// f32, and bf16 emulation (rounding at module boundaries, bf16 KV cache).
class ServeBatchDtype : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Dtypes, ServeBatchDtype, ::testing::Values("f32", "bf16"));

TEST_P(ServeBatchDtype, TextLogitsEqualTheModelsOwnHead) {
    auto t = open_tiny(GetParam());
    LlamaModel& lm = *t->parts.lm;
    ServeBatch b(lm, &t->parts, 2, 1, 512, 512);
    GenerationRequest r = text_request(*t);
    std::vector<int32_t> prompt = r.prompt;
    b.text().add(r);
    MixedStepReport rep = b.step();  // the whole prompt: one output row
    ASSERT_TRUE(rep.ran);
    ASSERT_EQ(rep.text_logits.dim(0), 1);
    KvCache cache(lm.backend(), lm.config(), 1, 512, lm.default_kv_dtype());
    SeqChunk c;
    c.slot = 0;
    c.tokens = prompt;
    StepOutputs out = lm.forward(std::vector<SeqChunk>{c}, cache, true);
    const int64_t V = lm.config().vocab_size;
    ASSERT_EQ(out.logits.dim(1), V);
    const float* a = rep.text_logits.ptr<float>();
    const float* e = out.logits.ptr<float>();
    for (int64_t v = 0; v < V; ++v) ASSERT_EQ(a[v], e[v]) << "logit " << v;
}

TEST_P(ServeBatchDtype, TextVisionAndImageRowsShareForwardsAndMatchRunsAlone) {
    auto t = open_tiny(GetParam());
    LlamaModel& lm = *t->parts.lm;
    ASSERT_EQ(lm.bf16(), GetParam() == "bf16");
    const int64_t cap = 512;

    // ---- references: each request alone ----
    Outcome text_alone, vision_alone, image_alone;
    {
        ServeBatch b(lm, &t->parts, 4, 2, cap, 512);
        b.text().add(text_request(*t));
        run(b, text_alone);
    }
    {
        ServeBatch b(lm, &t->parts, 4, 2, cap, 512);
        b.text().add(vision_request(*t));
        run(b, vision_alone);
    }
    {
        ServeBatch b(lm, &t->parts, 4, 2, cap, 512);
        b.images()->add(t->prompts->request(image_request(), 1));
        run(b, image_alone);
    }
    ASSERT_EQ(text_alone.tokens[0].size(), 20u);
    ASSERT_EQ(vision_alone.tokens[0].size(), 12u);
    ASSERT_EQ(image_alone.codes.size(), 2u);

    // ---- the plain paths agree with the split-step path ----
    {
        KvCache cache(lm.backend(), lm.config(), 1, cap, lm.default_kv_dtype());
        Generator g(lm, cache, 512);
        g.add(text_request(*t));
        EXPECT_EQ(g.run_all()[0], text_alone.tokens[0]) << "Generator::step vs ServeBatch";
    }
    {
        ImageGenOptions go;
        go.model = tiny_model();
        go.device = "cpu";
        go.dtype = GetParam();
        auto g = ImageGenerator::open(go);
        GenerateResult ref = g->generate(image_request());
        ASSERT_EQ(ref.images.size(), 2u);
        for (int k = 0; k < 2; ++k)
            EXPECT_EQ(ref.images[size_t(k)].codes, image_alone.codes[k]) << "image " << k;
    }

    // ---- all three at once, prefill in chunks of at most 64 tokens shared by the rows (the alone
    // runs prefilled each ~220-token prompt whole): chunk boundaries must not change any result ----
    ServeBatch b(lm, &t->parts, 4, 2, cap, 64);
    const int ht = b.text().add(text_request(*t));
    const int hv = b.text().add(vision_request(*t));
    b.images()->add(t->prompts->request(image_request(), 1));
    Outcome mixed;
    run(b, mixed);
    int all_three = 0;
    for (auto& s : mixed.steps) {
        const bool text = std::count(s.text_handles.begin(), s.text_handles.end(), ht) > 0;
        const bool vis = std::count(s.text_handles.begin(), s.text_handles.end(), hv) > 0;
        if (text && vis && s.image.images == 2) all_three++;
    }
    // Forwards 1-4 prefill the text prompt (the vision row joins in forward 4), 5-7 the rest of the
    // vision prompt, then both decode; both images run in forwards 1-16: about 13 carry all three.
    const int64_t vision_prompt = int64_t(vision_request(*t).prompt.size());
    ASSERT_GT(vision_prompt, 128) << "the vision prompt must need several prefill chunks";
    std::printf(
        "[mixed %s] prompts: text %zu, vision %lld tokens; %zu forwards (alone: %zu + %zu + %zu), %d with "
        "all three kinds\n",
        GetParam().c_str(), text_request(*t).prompt.size(), (long long)vision_prompt, mixed.steps.size(),
        text_alone.steps.size(), vision_alone.steps.size(), image_alone.steps.size(), all_three);
    EXPECT_GE(all_three, 8) << "forwards carrying text, vision and image rows together";
    EXPECT_LT(mixed.steps.size(),
              text_alone.steps.size() + vision_alone.steps.size() + image_alone.steps.size());
    EXPECT_EQ(mixed.tokens[ht], text_alone.tokens[0]);
    EXPECT_EQ(mixed.tokens[hv], vision_alone.tokens[0]);
    ASSERT_EQ(mixed.codes.size(), 2u);
    for (int k = 0; k < 2; ++k) EXPECT_EQ(mixed.codes[k], image_alone.codes[k]) << "image " << k;
    EXPECT_EQ(b.cache().free_slots(), b.cache().slots()) << "every row gave its KV slot back";
}

TEST(ServeBatch, CancelledRowLeavesAtTheNextStep) {
    auto t = open_tiny();
    ServeBatch b(*t->parts.lm, &t->parts, 4, 1, 512, 512);
    const int ht = b.text().add(text_request(*t));
    b.images()->add(t->prompts->request(image_request(), 1));
    for (int i = 0; i < 3; ++i) {
        MixedStepReport r = b.step();
        EXPECT_EQ(std::count(r.text_handles.begin(), r.text_handles.end(), ht), 1);
        EXPECT_EQ(r.image.images, 1);
    }
    b.text().cancel(ht);
    MixedStepReport r = b.step();
    EXPECT_TRUE(r.text_handles.empty()) << "the cancelled row was still in the forward";
    ASSERT_FALSE(r.text_events.empty());
    EXPECT_EQ(r.text_events[0].finished, FinishReason::cancelled);
    EXPECT_EQ(r.image.images, 1) << "the image row goes on";
    b.images()->cancel(1);
    EXPECT_TRUE(b.idle());
}

// ---- the scheduler ----

namespace {

std::shared_ptr<Job> make_job(JobKind kind, int max_tokens) {
    auto j = std::make_shared<Job>();
    j->kind = kind;
    j->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    j->max_tokens = max_tokens;
    j->sampling.temperature = 0.8f;
    j->sampling.seed = 3;
    j->ignore_eos = true;  // run the full length: the timing claims below need long rows
    return j;
}

std::shared_ptr<Job> text_job(Scheduler& s, int max_tokens) {
    auto j = make_job(JobKind::text, max_tokens);
    j->prompt = s.format().encode(s.tokenizer(), {{"user", "hello there"}}, true);
    return j;
}

std::shared_ptr<Job> vision_job(int max_tokens) {
    auto j = make_job(JobKind::vision, max_tokens);
    j->images = {png_image(40, 30, 3)};
    j->question = "What is this?";
    return j;
}

std::shared_ptr<Job> image_job() {
    auto j = make_job(JobKind::image, 0);
    j->image_request = image_request();
    return j;
}

bool wait(Job& j) {
    return j.wait_done(std::chrono::steady_clock::now() + std::chrono::seconds(60));
}

std::string text_of(Job& j) {
    std::lock_guard<std::mutex> lk(j.mu);
    return j.text;
}

}  // namespace

TEST(ServeScheduler, VisionRequestDoesNotHoldUpText) {
    auto o = tiny_options();
    o.max_tokens = 64;
    Scheduler s(o);
    auto v = vision_job(40), x = text_job(s, 4);
    ASSERT_TRUE(s.submit_all({v, x}));
    ASSERT_TRUE(wait(*x));
    ASSERT_TRUE(wait(*v));
    // Both got their first token in the first forward (the vision prompt is one prefill chunk); the
    // short text request finished long before the vision request it was submitted behind.
    EXPECT_EQ(v->first_token_step, 1u);
    EXPECT_EQ(x->first_token_step, 1u) << "the text request waited for the vision request";
    EXPECT_EQ(x->finish_step, 4u);
    EXPECT_EQ(v->finish_step, 40u);
    EXPECT_EQ(v->finish_reason, "length");
    EXPECT_EQ(v->completion_tokens, 40);
    EXPECT_EQ(x->completion_tokens, 4);
    SchedulerStats st = s.stats();
    EXPECT_GE(st.vision_text_steps, 4u) << "vision and text rows never shared a forward";
    EXPECT_EQ(st.max_vision_rows_in_step, 1);

    // identical to each alone (same seeds)
    auto v1 = vision_job(40), x1 = text_job(s, 4);
    ASSERT_TRUE(s.submit(v1));
    ASSERT_TRUE(wait(*v1));
    ASSERT_TRUE(s.submit(x1));
    ASSERT_TRUE(wait(*x1));
    EXPECT_EQ(text_of(*v1), text_of(*v));
    EXPECT_EQ(text_of(*x1), text_of(*x));
}

TEST(ServeScheduler, ChatAndImageRequestsShareStepsAndMatchRunsAlone) {
    auto o = tiny_options();
    Scheduler s(o);
    auto x = text_job(s, 20), im = image_job();
    ASSERT_TRUE(s.submit_all({x, im}));
    ASSERT_TRUE(wait(*x));
    ASSERT_TRUE(wait(*im));
    SchedulerStats st = s.stats();
    EXPECT_GE(st.mixed_steps, 1u) << "chat and image rows never shared a forward";
    EXPECT_GE(st.max_rows_in_step, 5) << "1 text row + 2 images x 2 CFG rows";
    ASSERT_EQ(im->results.size(), 2u);

    auto x1 = text_job(s, 20);
    ASSERT_TRUE(s.submit(x1));
    ASSERT_TRUE(wait(*x1));
    auto im1 = image_job();
    ASSERT_TRUE(s.submit(im1));
    ASSERT_TRUE(wait(*im1));
    EXPECT_EQ(text_of(*x1), text_of(*x));
    ASSERT_EQ(im1->results.size(), 2u);
    auto by_index = [](std::vector<GeneratedImage> v) {
        std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.index < b.index; });
        return v;
    };
    auto a = by_index(im->results), b = by_index(im1->results);
    for (int k = 0; k < 2; ++k) {
        EXPECT_EQ(a[size_t(k)].codes, b[size_t(k)].codes) << "image " << k;
        EXPECT_TRUE(a[size_t(k)].image.pixels == b[size_t(k)].image.pixels) << "image " << k;
    }
}
