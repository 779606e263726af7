// Step-graph capturability of LlamaModel::forward (LmRunOptions::step_graphs): a Backend decorator
// over the CPU backend that, between begin_capture() and end_capture(), records ops instead of
// running them and fails the test on alloc(), upload() or synchronize() (forbidden while a CUDA graph
// is being captured); replay() then runs the recording. Decoding with graphs must give exactly the
// logits of eager decoding — which also proves nothing reads a result before the step has run.
#include <gtest/gtest.h>

#include <functional>

#include "kernels/backend.h"
#include "text/llama_model.h"
#include "tiny_model.h"

using namespace janus;

namespace {
class RecordingBackend : public Backend {
public:
    explicit RecordingBackend(Backend& inner) : in_(inner) {}
    int captures = 0, replays = 0, recorded = 0;

    std::string name() const override { return "recording(" + in_.name() + ")"; }
    Device device() const override { return in_.device(); }
    Tensor alloc(DType d, const Shape& s) override {
        if (capturing_) ADD_FAILURE() << "alloc() while capturing";
        return in_.alloc(d, s);
    }
    void zero(const Tensor& t) override { run([=, this] { in_.zero(t); }); }
    void copy(const Tensor& d, const Tensor& s) override { run([=, this] { in_.copy(d, s); }); }
    Tensor upload(const Tensor& t) override {
        if (capturing_) ADD_FAILURE() << "upload() while capturing";
        return in_.upload(t);
    }
    void synchronize() override {
        if (capturing_) ADD_FAILURE() << "synchronize() while capturing";
        in_.synchronize();
    }
    MemoryInfo memory() const override { return in_.memory(); }
    int threads() const override { return in_.threads(); }
    bool begin_capture() override {
        EXPECT_FALSE(capturing_);
        capturing_ = true;
        ops_.clear();
        captures++;
        return true;
    }
    void end_capture() override {
        EXPECT_TRUE(capturing_);
        capturing_ = false;
    }
    void replay() override {
        replays++;
        for (auto& f : ops_) f();
    }

    void embedding(const Tensor& o, const Tensor& t, const Tensor& i) override { run([=, this] { in_.embedding(o, t, i); }); }
    void matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, MatmulPrecision p, bool acc) override {
        run([=, this] { in_.matmul(y, x, w, b, p, acc); });
    }
    void rms_norm(const Tensor& y, const Tensor& x, const Tensor& w, float e, bool r) override {
        run([=, this] { in_.rms_norm(y, x, w, e, r); });
    }
    void layer_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, float e) override {
        run([=, this] { in_.layer_norm(y, x, w, b, e); });
    }
    void group_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, int g, float e, bool s) override {
        run([=, this] { in_.group_norm(y, x, w, b, g, e, s); });
    }
    void rope(const Tensor& x, const Tensor& p, const Tensor& f, bool r) override { run([=, this] { in_.rope(x, p, f, r); }); }
    void softmax(const Tensor& x) override { run([=, this] { in_.softmax(x); }); }
    void attention(const Tensor& o, const Tensor& q, const Tensor& k, const Tensor& v, float s, int64_t c) override {
        run([=, this] { in_.attention(o, q, k, v, s, c); });
    }
    void add(const Tensor& y, const Tensor& a, const Tensor& b) override { run([=, this] { in_.add(y, a, b); }); }
    void mul(const Tensor& y, const Tensor& a, const Tensor& b) override { run([=, this] { in_.mul(y, a, b); }); }
    void scale(const Tensor& y, const Tensor& x, float s) override { run([=, this] { in_.scale(y, x, s); }); }
    void silu(const Tensor& y, const Tensor& x) override { run([=, this] { in_.silu(y, x); }); }
    void gelu(const Tensor& y, const Tensor& x) override { run([=, this] { in_.gelu(y, x); }); }
    void swiglu(const Tensor& y, const Tensor& g, const Tensor& u) override { run([=, this] { in_.swiglu(y, g, u); }); }
    void round_to_bf16(const Tensor& x) override { run([=, this] { in_.round_to_bf16(x); }); }
    void convert(const Tensor& y, const Tensor& x) override { run([=, this] { in_.convert(y, x); }); }
    void conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) override {
        run([=, this] { in_.conv2d(y, x, w, b, p); });
    }
    void upsample_nearest2x(const Tensor& y, const Tensor& x) override { run([=, this] { in_.upsample_nearest2x(y, x); }); }

private:
    void run(std::function<void()> f) {
        if (capturing_) {
            ops_.push_back(std::move(f));
            recorded++;
        } else {
            f();
        }
    }
    Backend& in_;
    bool capturing_ = false;
    std::vector<std::function<void()>> ops_;
};
}  // namespace

TEST(StepGraph, CapturedStepsEqualEagerSteps) {
    using namespace janus::testing;
    auto cfg = tiny_config(2, true);
    auto ck = make_tiny_checkpoint(cfg, DType::bf16, 11);
    RecordingBackend rec(cpu_backend());
    std::vector<std::vector<float>> results[2];
    for (int graphs = 0; graphs < 2; graphs++) {
        Backend& be = graphs ? static_cast<Backend&>(rec) : cpu_backend();
        LmWeights w = load_lm_weights(cfg, [&ck](const std::string& n) { return ck.find(n); }, LmTensorNames{}, be, "t");
        LmRunOptions o;
        o.step_graphs = graphs == 1;
        LlamaModel m(be, cfg, std::move(w), o);
        KvCache cache(be, cfg, 2, 32, m.default_kv_dtype());
        std::vector<int32_t> p0 = {5, 6, 7, 8, 9}, p1 = {1, 2};
        Tensor emb = Tensor::empty(DType::f32, {2, cfg.hidden});
        {
            // Embeddings from host memory are copied in before the capture starts.
            Backend& cpu = cpu_backend();
            cpu.embedding(emb, ck.find("model.embed_tokens.weight"), Tensor::from_i32({3, 4}, {2}));
        }
        std::vector<SeqChunk> first = {{0, 0, p0, {}, OutputRows::last}, {1, 0, {}, emb, OutputRows::all}};
        auto out = m.forward(first, cache, true);
        results[graphs].push_back(out.logits.to_f32_vector());
        for (int s = 0; s < 5; s++) {
            int32_t t0 = int32_t(s + 10), t1 = int32_t(s + 20);
            std::vector<SeqChunk> step = {{0, 5 + s, std::span<const int32_t>(&t0, 1), {}, OutputRows::last},
                                          {1, 2 + s, std::span<const int32_t>(&t1, 1), {}, OutputRows::last}};
            out = m.forward(step, cache, true);
            results[graphs].push_back(out.logits.to_f32_vector());
            results[graphs].push_back(out.hidden.to_f32_vector());
        }
    }
    EXPECT_EQ(rec.captures, 6);
    EXPECT_EQ(rec.replays, 6);
    EXPECT_GT(rec.recorded, 6 * 20);
    ASSERT_EQ(results[0].size(), results[1].size());
    for (size_t i = 0; i < results[0].size(); i++) EXPECT_EQ(results[0][i], results[1][i]) << "output " << i;
}
