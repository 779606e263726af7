// End to end on the GPU: the Llama-family decoder (text/llama_model.h, which calls only the Backend op
// table) on a tiny synthetic model, CUDA against the CPU reference backend: two sequences prefilled
// together, then greedy decoding fed with the CPU's tokens; logits compared every step, greedy tokens
// equal in f32 compute, and in bf16 emulation equal except at CPU near-ties (< 1% logit gap).
// f32 compute and bf16 emulation, each eager and with LmRunOptions::step_graphs (every step recorded
// as a CUDA graph, then replayed). SKIPPED without a CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/backend.h"
#include "text/kv_cache.h"
#include "text/llama_model.h"
#include "text/synthetic.h"
#ifdef JANUS_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

using namespace janus;

namespace {

std::vector<float> host_logits(Backend& b, const Tensor& t) {
    Tensor h = Tensor::empty(DType::f32, t.shape());
    b.copy(h, t);
    return h.to_f32_vector();
}

int32_t argmax_row(const std::vector<float>& v, int64_t row, int64_t V) {
    int64_t best = 0;
    for (int64_t j = 1; j < V; j++)
        if (v[size_t(row * V + j)] > v[size_t(row * V + best)]) best = j;
    return int32_t(best);
}

}  // namespace

TEST(CudaEndToEnd, TinyLmGreedyDecodeMatchesCpu) {
#ifdef JANUS_HAVE_CUDA
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: end-to-end CUDA test not run";
    Backend& gpu = get_backend("cuda");
    Backend& cpu = cpu_backend();
    struct Mode {
        DType weights;
        ComputeDType compute;
        double logit_tol;  // relative L2 error of each step's logits
        bool graphs;       // CUDA: record every step as a graph and replay it
    };
    for (const Mode& m : {Mode{DType::f32, ComputeDType::f32, 1e-5, false}, Mode{DType::bf16, ComputeDType::bf16, 2e-2, false},
                          Mode{DType::f32, ComputeDType::f32, 1e-5, true}, Mode{DType::bf16, ComputeDType::bf16, 2e-2, true}}) {
        SCOPED_TRACE(std::string(dtype_name(m.weights)) + (m.graphs ? " with step graphs" : " eager"));
        LmConfig cfg = synthetic_lm_config("tiny");
        LmRunOptions opt;
        opt.dtype = m.compute;
        LlamaModel mc(cpu, cfg, synthetic_lm_weights(cfg, m.weights, cpu, 42, 1), opt);
        opt.step_graphs = m.graphs;
        LlamaModel mg(gpu, cfg, synthetic_lm_weights(cfg, m.weights, gpu, 42, 1), opt);
        KvCache cc(cpu, cfg, 2, 64, mc.default_kv_dtype()), cg(gpu, cfg, 2, 64, mg.default_kv_dtype());
        const int64_t V = cfg.vocab_size;
        std::vector<int32_t> p0 = {1, 17, 300, 42, 7, 99}, p1 = {1, 5, 6};
        std::vector<int32_t> t0(1), t1(1);
        int64_t pos0 = 0, pos1 = 0;
        for (int step = 0; step < 24; step++) {
            std::vector<SeqChunk> chunks(2);
            chunks[0].slot = 0;
            chunks[0].start = pos0;
            chunks[0].tokens = step == 0 ? std::span<const int32_t>(p0) : std::span<const int32_t>(t0);
            chunks[1].slot = 1;
            chunks[1].start = pos1;
            chunks[1].tokens = step == 0 ? std::span<const int32_t>(p1) : std::span<const int32_t>(t1);
            std::vector<float> lc = host_logits(cpu, mc.forward(chunks, cc, true).logits);
            std::vector<float> lg = host_logits(gpu, mg.forward(chunks, cg, true).logits);
            ASSERT_EQ(lc.size(), lg.size());
            double num = 0, den = 0;
            for (size_t i = 0; i < lc.size(); i++) {
                ASSERT_FALSE(std::isnan(lg[i])) << "NaN in CUDA logits at step " << step;
                num += (double(lg[i]) - lc[i]) * (double(lg[i]) - lc[i]);
                den += double(lc[i]) * lc[i];
            }
            EXPECT_LT(std::sqrt(num / den), m.logit_tol) << dtype_name(m.weights) << " step " << step;
            pos0 += chunks[0].size();
            pos1 += chunks[1].size();
            for (int r = 0; r < 2; r++) {
                int32_t want = argmax_row(lc, r, V), got = argmax_row(lg, r, V);
                if (m.compute == ComputeDType::f32) {
                    EXPECT_EQ(got, want) << "f32: greedy token of sequence " << r << " differs at step " << step;
                } else if (got != want) {
                    // bf16 emulation: a last-place difference before a bf16 rounding can flip it (0.4%), so
                    // only a near-tie on the CPU side may pick differently.
                    float gap = lc[size_t(r * V + want)] - lc[size_t(r * V + got)];
                    EXPECT_LE(gap, 0.01f * std::max(1.0f, std::fabs(lc[size_t(r * V + want)])))
                        << "bf16: sequence " << r << " step " << step << " picked " << got << " over " << want;
                }
                (r == 0 ? t0 : t1)[0] = want;  // both backends continue from the CPU's token
            }
        }
    }
#else
    GTEST_SKIP() << "built without CUDA";
#endif
}
