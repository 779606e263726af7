// SigLIP, aligner and VQ-16 against the PyTorch reference (scripts/reference/janus_torch.py via
// scripts/reference/make_vision_fixtures.py) on the tiny Janus checkpoints, in both the official
// (pytorch_model.bin) and the transformers-converted (model.safetensors) layouts.
// Tolerances (f32 compute on the bf16 checkpoint weights, as the golden's f32 mode):
//   siglip_features, aligner_out, vq_decoded, vq latent: max|Δ| / max|golden| ≤ 1e-4
//   vq_image_uint8: ±1 per channel (truncation of values that land within rounding of an integer)
//   vq codes: exact (the golden records the smallest distance gap, 1.3e-3, far above f32 error)
//   preprocessing: padded uint8 ±1 (Pillow port), pixel values then 1e-6 absolute of the golden.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/common/tolerance.h"
#include "janus/vision.h"
#include "kernels/backend.h"
#include "pipelines/model_bundle.h"
#include "vision/mlp_projector.h"
#include "vision/name_map.h"
#include "vision/preprocess.h"
#include "vision/siglip.h"
#include "vision/vq_model.h"

using namespace janus;
using namespace janus::vision;

namespace {

std::string data(const std::string& rel) { return std::string(JANUS_TEST_DATA) + "/" + rel; }
std::string golden(const std::string& f) { return data("golden/tiny-janus/" + f); }

using janus::testing::max_rel_error;  // tests/common/tolerance.h

std::vector<float> host(const Tensor& t) {
    Tensor h = Tensor::empty(DType::f32, t.shape());
    cpu_backend().copy(h, t);
    return h.to_f32_vector();
}

struct Loaded {
    ModelBundle bundle;
    std::unique_ptr<WeightSource> ws;
};

Loaded open(const std::string& model) {
    BundleOptions o;
    o.load_tokenizer = false;
    Loaded l{open_model_bundle(data("models/" + model), o), nullptr};
    l.ws = std::make_unique<WeightSource>(l.bundle.lookup(), cpu_backend(), l.bundle.dir);
    return l;
}

class Layouts : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST(VisionConfig, TinyBothLayouts) {
    for (const char* m : {"tiny-janus", "tiny-janus-hf"}) {
        Loaded l = open(m);
        SiglipConfig s = siglip_config_from_json(l.bundle.config, m);
        EXPECT_EQ(s.image_size, 64);
        EXPECT_EQ(s.width, 64);
        EXPECT_EQ(s.heads, 4);
        EXPECT_EQ(s.mlp_dim, 256);
        EXPECT_EQ(s.depth(), 2);
        VqConfig q = vq_config_from_json(l.bundle.config, m);
        EXPECT_EQ(q.codebook_size, 256);
        EXPECT_EQ(q.ch, 32);
        EXPECT_EQ(q.grid(), 4);
        EXPECT_EQ(q.num_res_blocks, 1);
    }
    SiglipConfig d = siglip_config_from_json(nlohmann::json::object(), "none");  // official defaults
    EXPECT_EQ(d.width, 1024);
    EXPECT_EQ(d.num_patches(), 576);
    VqConfig v = vq_config_from_json(nlohmann::json::object(), "none");
    EXPECT_EQ(v.grid(), 24);
}

TEST(NameMap, TransformersSpellings) {
    EXPECT_EQ(hf_name("vision_model.vision_tower.blocks.3.norm1.weight"),
              "model.vision_model.encoder.layers.3.layer_norm1.weight");
    EXPECT_EQ(hf_name("vision_model.vision_tower.pos_embed"), "model.vision_model.embeddings.position_embedding.weight");
    EXPECT_EQ(hf_name("gen_vision_model.decoder.conv_blocks.1.res.0.nin_shortcut.weight"),
              "model.vqmodel.decoder.up.1.block.0.nin_shortcut.weight");
    EXPECT_EQ(hf_name("gen_vision_model.encoder.mid.1.q.bias"), "model.vqmodel.encoder.mid.attn_1.q.bias");
    EXPECT_EQ(hf_name("aligner.layers.2.bias"), "model.aligner.hidden_layers.0.bias");
    EXPECT_EQ(hf_name("gen_head.vision_head.weight"), "model.generation_head.vision_head.weight");
    EXPECT_EQ(hf_name("vision_model.vision_tower.attn_pool.latent"), "");
}

TEST(Preprocess, TinyGoldenImages) {
    const char* names[] = {"img0_100x60_rgb.png", "img1_45x70_rgba.png", "img2_64x64_rgb.png", "img3_200x12_palette.png"};
    for (int i = 0; i < 4; ++i) {
        RgbImage img = read_image(golden(std::string("images/") + names[i]));
        RgbImage sq = janus_square_image(img, 64);
        Npy want = read_npy(golden("padded64_u8_img" + std::to_string(i) + ".npy"));
        ASSERT_EQ(want.bytes.size(), sq.pixels.size());
        int worst = 0;
        for (size_t k = 0; k < sq.pixels.size(); ++k) worst = std::max(worst, std::abs(int(sq.pixels[k]) - int(want.bytes[k])));
        EXPECT_LE(worst, 1) << names[i];
        std::vector<float> pv(3 * 64 * 64);
        RgbImage wsq{64, 64, want.bytes};
        to_pixel_values(wsq, pv.data());
        std::vector<float> gp = read_npy(golden("pixel_values_img" + std::to_string(i) + ".npy")).to_f32();
        EXPECT_LE(max_rel_error(pv, gp), 1e-6) << names[i];
    }
}

TEST_P(Layouts, SiglipAndAligner) {
    Loaded l = open(GetParam());
    SiglipConfig cfg = siglip_config_from_json(l.bundle.config, GetParam());
    SiglipEncoder enc = SiglipEncoder::load(*l.ws, cfg);
    MlpProjector al = MlpProjector::load(*l.ws, "aligner");
    std::vector<float> pix;
    for (int i = 0; i < 4; ++i) {
        std::vector<float> p = read_npy(golden("pixel_values_img" + std::to_string(i) + ".npy")).to_f32();
        pix.insert(pix.end(), p.begin(), p.end());
    }
    Tensor feats = cpu_backend().alloc(DType::f32, {4, 16, 64});
    enc.forward(feats, pix.data(), 4);
    double e1 = max_rel_error(host(feats), read_npy(golden("f32_siglip_features.npy")).to_f32());
    EXPECT_LE(e1, 1e-4);
    Tensor out = cpu_backend().alloc(DType::f32, {64, 64});
    al.forward(cpu_backend(), out, feats.reshape({64, 64}));
    double e2 = max_rel_error(host(out), read_npy(golden("f32_aligner_out.npy")).to_f32());
    EXPECT_LE(e2, 1e-4);
    RecordProperty("siglip_rel", std::to_string(e1));
    RecordProperty("aligner_rel", std::to_string(e2));
}

TEST_P(Layouts, VqDecode) {
    Loaded l = open(GetParam());
    VqConfig cfg = vq_config_from_json(l.bundle.config, GetParam());
    VqModel vq = VqModel::load(*l.ws, cfg, false);
    std::vector<int64_t> codes = read_npy(golden("vq_codes.npy")).to_i64();
    std::vector<float> want = read_npy(golden("f32_vq_decoded.npy")).to_f32();
    Npy want_u8 = read_npy(golden("f32_vq_image_uint8.npy"));
    const size_t per = 3 * 64 * 64;
    for (int img = 0; img < 2; ++img) {
        std::vector<int32_t> c(codes.begin() + img * 16, codes.begin() + (img + 1) * 16);
        Tensor out = cpu_backend().alloc(DType::f32, {1, 3, 64, 64});
        vq.decode(out, c.data());
        std::vector<float> got = host(out);
        std::vector<float> w(want.begin() + img * per, want.begin() + (img + 1) * per);
        EXPECT_LE(max_rel_error(got, w), 1e-4) << "image " << img;
        RgbImage px = decoded_to_image(got.data(), 64);
        int worst = 0;
        for (size_t k = 0; k < px.pixels.size(); ++k)
            worst = std::max(worst, std::abs(int(px.pixels[k]) - int(want_u8.bytes[img * per + k])));
        EXPECT_LE(worst, 1) << "image " << img;
    }
}

TEST_P(Layouts, VqEncode) {
    Loaded l = open(GetParam());
    VqConfig cfg = vq_config_from_json(l.bundle.config, GetParam());
    VqModel vq = VqModel::load(*l.ws, cfg, true);
    std::vector<int64_t> want_codes = read_npy(golden("f32_vq_encode_codes.npy")).to_i64();
    std::vector<float> want_lat = read_npy(golden("f32_vq_encode_latent.npy")).to_f32();
    int img = 0;
    for (int src : {2, 0}) {  // the golden encodes img2 then img0
        std::vector<float> p = read_npy(golden("pixel_values_img" + std::to_string(src) + ".npy")).to_f32();
        std::vector<int32_t> codes = vq.encode(p.data());
        std::vector<float> wl(want_lat.begin() + img * 128, want_lat.begin() + (img + 1) * 128);
        EXPECT_LE(max_rel_error(vq.last_latent(), wl), 1e-4) << "image " << src;
        for (int k = 0; k < 16; ++k) EXPECT_EQ(codes[size_t(k)], want_codes[size_t(img * 16 + k)]) << "position " << k;
        ++img;
    }
}

INSTANTIATE_TEST_SUITE_P(Tiny, Layouts, ::testing::Values("tiny-janus", "tiny-janus-hf"),
                         [](const auto& info) { return std::string(info.param) == "tiny-janus" ? "official" : "transformers"; });

// The public VqTokenizer (what `janus vq` runs): img2 is already 64×64, so preprocessing is the
// identity resize and the codes must be the golden's; decode of the golden grid within ±1 per channel.
TEST(VqTokenizer, PublicApiMatchesGolden) {
    auto vq = VqTokenizer::open(data("models/tiny-janus"), "cpu");
    EXPECT_EQ(vq->grid_size(), 4);
    EXPECT_EQ(vq->image_size(), 64);
    std::vector<int32_t> codes = vq->encode(read_image(golden("images/img2_64x64_rgb.png")));
    std::vector<int64_t> want = read_npy(golden("f32_vq_encode_codes.npy")).to_i64();
    EXPECT_EQ(std::vector<int64_t>(codes.begin(), codes.end()), std::vector<int64_t>(want.begin(), want.begin() + 16));
    std::vector<int64_t> grid = read_npy(golden("vq_codes.npy")).to_i64();
    RgbImage img = vq->decode(std::vector<int32_t>(grid.begin(), grid.begin() + 16));
    Npy u8 = read_npy(golden("f32_vq_image_uint8.npy"));
    int worst = 0;
    for (size_t k = 0; k < img.pixels.size(); ++k) worst = std::max(worst, std::abs(int(img.pixels[k]) - int(u8.bytes[k])));
    EXPECT_LE(worst, 1);
    EXPECT_THROW(vq->decode(std::vector<int32_t>(15, 0)), Error);             // wrong count
    EXPECT_THROW(vq->decode(std::vector<int32_t>(16, 256)), Error);           // outside the codebook
    EXPECT_THROW(VqTokenizer::open(data("models/tiny-llama"), "cpu"), Error);  // not Janus
}
