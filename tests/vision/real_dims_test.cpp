// Real-dimension check (SigLIP-L/16@384, aligner 1024→2048, VQ-16) against PyTorch outputs made by
// scripts/reference/make_vision_real_dims.py (~700 MB, not committed). Skipped unless the environment
// variable JANUS_VISION_REAL_DIMS names that output directory. The checkpoint's config.json carries
// only the official keys, so this also checks the official default dimensions.
// Tolerances (f32 compute on bf16-representable weights): features, aligner, decoded, latent
// max|Δ|/max|ref| ≤ 1e-4; codes exact except where the reference's best and runner-up distances are
// within 1e-4 (f32 summation order decides those).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "tests/common/tolerance.h"
#include "janus/vision.h"
#include "kernels/backend.h"
#include "kernels/io/checkpoint.h"
#include "vision/mlp_projector.h"
#include "vision/siglip.h"
#include "vision/vq_model.h"

using namespace janus;
using namespace janus::vision;

namespace {
using janus::testing::max_rel_error;  // tests/common/tolerance.h
std::vector<float> host(const Tensor& t) {
    Tensor h = Tensor::empty(DType::f32, t.shape());
    cpu_backend().copy(h, t);
    return h.to_f32_vector();
}
}  // namespace

TEST(RealDims, SiglipAlignerVq) {
    const char* dir_env = std::getenv("JANUS_VISION_REAL_DIMS");
    if (!dir_env) GTEST_SKIP() << "set JANUS_VISION_REAL_DIMS (scripts/reference/make_vision_real_dims.py)";
    std::string dir = dir_env;
    auto ck = std::make_shared<io::Checkpoint>(io::Checkpoint::open(dir + "/model.safetensors"));
    nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
    WeightSource ws([ck](const std::string& n) { const auto* e = ck->find(n); return e ? e->tensor : Tensor(); },
                    cpu_backend(), dir);
    auto npy = [&](const std::string& n) { return read_npy(dir + "/" + n + ".npy"); };

    SiglipConfig sc = siglip_config_from_json(cfg, dir);
    ASSERT_EQ(sc.num_patches(), 576);
    SiglipEncoder enc = SiglipEncoder::load(ws, sc);
    std::vector<float> px = npy("pixel_values").to_f32();
    Tensor feats = cpu_backend().alloc(DType::f32, {1, 576, 1024});
    enc.forward(feats, px.data(), 1);
    double e1 = max_rel_error(host(feats), npy("siglip_features").to_f32());
    EXPECT_LE(e1, 1e-4);
    MlpProjector al = MlpProjector::load(ws, "aligner");
    Tensor a = cpu_backend().alloc(DType::f32, {576, 2048});
    al.forward(cpu_backend(), a, feats.reshape({576, 1024}));
    double e2 = max_rel_error(host(a), npy("aligner_out").to_f32());
    EXPECT_LE(e2, 1e-4);

    VqConfig qc = vq_config_from_json(cfg, dir);
    ASSERT_EQ(qc.grid(), 24);
    VqModel vq = VqModel::load(ws, qc, true);
    std::vector<int64_t> c64 = npy("vq_codes").to_i64();
    std::vector<int32_t> codes(c64.begin(), c64.end());
    Tensor dec = cpu_backend().alloc(DType::f32, {1, 3, 384, 384});
    vq.decode(dec, codes.data());
    double e3 = max_rel_error(host(dec), npy("vq_decoded").to_f32());
    EXPECT_LE(e3, 1e-4);
    std::vector<int32_t> got = vq.encode(px.data());
    double e4 = max_rel_error(vq.last_latent(), npy("vq_encode_latent").to_f32());
    EXPECT_LE(e4, 1e-4);
    std::vector<int64_t> want = npy("vq_encode_codes").to_i64();
    std::vector<float> gap = npy("vq_encode_gap").to_f32();
    int mismatches = 0, unexplained = 0;
    for (size_t i = 0; i < want.size(); ++i)
        if (got[i] != want[i]) ++mismatches, unexplained += gap[i] >= 1e-4f;
    EXPECT_EQ(unexplained, 0);
    std::printf("real dims: siglip %.2e, aligner %.2e, vq decode %.2e, vq latent %.2e, code mismatches %d (near ties)\n",
                e1, e2, e3, e4, mismatches);
}
