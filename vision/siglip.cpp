// SigLIP encoder forward and weight loading (see siglip.h for shapes and the computation).
#include "vision/siglip.h"

#include <cmath>
#include <map>

#include "janus/error.h"
#include "vision/random_weights.h"

namespace janus::vision {

namespace {
const std::string kTower = "vision_model.vision_tower.";
const std::string kHfEncoder = "model.vision_model.encoder.layers.";
}  // namespace

SiglipEncoder SiglipEncoder::load(const WeightSource& src, const SiglipConfig& cfg) {
    SiglipEncoder e;
    e.be_ = &src.backend();
    e.attn_ = std::make_shared<GemmAttention>(*e.be_);
    e.cfg_ = cfg;
    const int64_t W = cfg.width, P = cfg.patch_size, N = cfg.num_patches(), F = cfg.mlp_dim;
    e.patch_w_ = src.require(kTower + "patch_embed.proj.weight", {W, 3, P, P}).reshape({W, 3 * P * P});
    e.patch_b_ = src.require(kTower + "patch_embed.proj.bias", {W});
    Tensor pos = src.require(kTower + "pos_embed");
    if (pos.numel() != N * W)
        throw Error(src.source() + ": pos_embed has shape " + pos.shape().str() + ", expected [1, " +
                    std::to_string(N) + ", " + std::to_string(W) + "] (image_size / patch_size from the config)");
    // `add` takes f32 operands only: keep an f32 copy of the (usually bf16) position table.
    e.pos_ = src.backend().alloc(DType::f32, {N, W});
    if (pos.dtype() == DType::f32) src.backend().copy(e.pos_, pos.reshape({N, W}));
    else src.backend().convert(e.pos_, pos.reshape({N, W}));
    e.norm_w_ = src.require(kTower + "norm.weight", {W});
    e.norm_b_ = src.require(kTower + "norm.bias", {W});
    for (int l = 0; l < cfg.depth(); ++l) {
        std::string b = kTower + "blocks." + std::to_string(l) + ".";
        Block k;
        k.ln1_w = src.require(b + "norm1.weight", {W});
        k.ln1_b = src.require(b + "norm1.bias", {W});
        k.ln2_w = src.require(b + "norm2.weight", {W});
        k.ln2_b = src.require(b + "norm2.bias", {W});
        if (Tensor qkv = src.find(b + "attn.qkv.weight"); qkv.defined()) {  // official: fused, rows q | k | v
            if (!(qkv.shape() == Shape{3 * W, W}))
                throw Error(src.source() + ": " + b + "attn.qkv.weight is " + qkv.shape().str() + ", expected [" +
                            std::to_string(3 * W) + ", " + std::to_string(W) + "]");
            Tensor qb = src.require(b + "attn.qkv.bias", {3 * W});
            k.wq = qkv.rows(0, W), k.wk = qkv.rows(W, 2 * W), k.wv = qkv.rows(2 * W, 3 * W);
            k.bq = qb.rows(0, W), k.bk = qb.rows(W, 2 * W), k.bv = qb.rows(2 * W, 3 * W);
        } else {  // transformers-converted: split projections (facts §2.4)
            std::string h = kHfEncoder + std::to_string(l) + ".self_attn.";
            auto need = [&](const std::string& name, const Shape& s) {
                Tensor t = src.raw(name);
                if (!t.defined())
                    throw Error(src.source() + ": neither " + b + "attn.qkv.weight nor " + name + " found");
                if (!(t.shape() == s)) throw Error(src.source() + ": " + name + " is " + t.shape().str());
                return src.upload(t);
            };
            k.wq = need(h + "q_proj.weight", {W, W}), k.bq = need(h + "q_proj.bias", {W});
            k.wk = need(h + "k_proj.weight", {W, W}), k.bk = need(h + "k_proj.bias", {W});
            k.wv = need(h + "v_proj.weight", {W, W}), k.bv = need(h + "v_proj.bias", {W});
        }
        k.wo = src.require(b + "attn.proj.weight", {W, W});
        k.bo = src.require(b + "attn.proj.bias", {W});
        k.w1 = src.require(b + "mlp.fc1.weight", {F, W});
        k.b1 = src.require(b + "mlp.fc1.bias", {F});
        k.w2 = src.require(b + "mlp.fc2.weight", {W, F});
        k.b2 = src.require(b + "mlp.fc2.bias", {W});
        e.blocks_.push_back(std::move(k));
    }
    return e;
}

SiglipEncoder SiglipEncoder::random(Backend& be, const SiglipConfig& cfg, uint64_t seed, DType wdt) {
    SiglipEncoder e;
    e.be_ = &be;
    e.attn_ = std::make_shared<GemmAttention>(be);
    e.cfg_ = cfg;
    const int64_t W = cfg.width, P = cfg.patch_size, N = cfg.num_patches(), F = cfg.mlp_dim;
    e.patch_w_ = random_normal(be, {W, 3 * P * P}, 0.02f, seed++, wdt);
    e.patch_b_ = constant(be, {W}, 0.0f);
    e.pos_ = random_normal(be, {N, W}, 0.02f, seed++);
    e.norm_w_ = constant(be, {W}, 1.0f);
    e.norm_b_ = constant(be, {W}, 0.0f);
    for (int l = 0; l < cfg.depth(); ++l) {
        Block k;
        k.ln1_w = k.ln2_w = constant(be, {W}, 1.0f);
        k.ln1_b = k.ln2_b = k.bq = k.bk = k.bv = k.bo = k.b2 = constant(be, {W}, 0.0f);
        k.wq = random_normal(be, {W, W}, 0.02f, seed++, wdt);
        k.wk = random_normal(be, {W, W}, 0.02f, seed++, wdt);
        k.wv = random_normal(be, {W, W}, 0.02f, seed++, wdt);
        k.wo = random_normal(be, {W, W}, 0.02f, seed++, wdt);
        k.w1 = random_normal(be, {F, W}, 0.02f, seed++, wdt);
        k.b1 = constant(be, {F}, 0.0f);
        k.w2 = random_normal(be, {W, F}, 0.02f, seed++, wdt);
        e.blocks_.push_back(std::move(k));
    }
    return e;
}

Tensor SiglipEncoder::ws(const char* name, const Shape& shape) {
    Tensor& t = work_[name];
    if (!t.defined() || !(t.shape() == shape)) t = be_->alloc(DType::f32, shape);
    return t;
}

void SiglipEncoder::forward(const Tensor& out, const float* pixels, int n) {
    Backend& be = *be_;
    const int64_t S = cfg_.image_size, P = cfg_.patch_size, G = cfg_.grid(), N = cfg_.num_patches();
    const int64_t W = cfg_.width, H = cfg_.heads, Dh = W / H, F = cfg_.mlp_dim, M = int64_t(n) * N, K = 3 * P * P;
    if (n <= 0) throw Error("SigLIP: no images");
    if (!(out.shape() == Shape{n, N, W}) || out.dtype() != DType::f32)
        throw Error("SigLIP: output must be f32 [" + std::to_string(n) + ", " + std::to_string(N) + ", " +
                    std::to_string(W) + "], got " + out.str());

    // im2col on the host: patches[img·N + gy·G + gx, c·P·P + ky·P + kx] (the conv weight's order).
    Tensor patches = Tensor::empty(DType::f32, {M, K});
    float* pp = patches.ptr<float>();
    for (int64_t img = 0; img < n; ++img)
        for (int64_t gy = 0; gy < G; ++gy)
            for (int64_t gx = 0; gx < G; ++gx) {
                float* row = pp + ((img * N) + gy * G + gx) * K;
                for (int64_t c = 0; c < 3; ++c)
                    for (int64_t ky = 0; ky < P; ++ky) {
                        const float* src = pixels + ((img * 3 + c) * S + gy * P + ky) * S + gx * P;
                        std::copy(src, src + P, row + (c * P + ky) * P);
                    }
            }

    Tensor x = out.reshape({M, W});
    be.matmul(x, be.upload(patches), patch_w_, patch_b_);
    for (int64_t img = 0; img < n; ++img) {
        Tensor xi = x.rows(img * N, (img + 1) * N);
        be.add(xi, xi, pos_);
    }

    Tensor xn = ws("xn", {M, W}), q = ws("q", {M, W}), k = ws("k", {M, W}), v = ws("v", {M, W});
    Tensor att = ws("att", {M, W}), hid = ws("hid", {M, F});
    const float scale = 1.0f / std::sqrt(float(Dh));
    for (const Block& b : blocks_) {
        be.layer_norm(xn, x, b.ln1_w, b.ln1_b, cfg_.eps);
        be.matmul(q, xn, b.wq, b.bq);
        be.matmul(k, xn, b.wk, b.bk);
        be.matmul(v, xn, b.wv, b.bv);
        for (int64_t img = 0; img < n; ++img) {
            auto part = [&](const Tensor& t) { return t.rows(img * N, (img + 1) * N).reshape({N, H, Dh}); };
            attn_->forward(part(att), part(q), part(k), part(v), scale);
        }
        be.matmul(x, att, b.wo, b.bo, MatmulPrecision::f32, /*accumulate=*/true);
        be.layer_norm(xn, x, b.ln2_w, b.ln2_b, cfg_.eps);
        be.matmul(hid, xn, b.w1, b.b1);
        be.gelu(hid, hid);
        be.matmul(x, hid, b.w2, b.b2, MatmulPrecision::f32, /*accumulate=*/true);
    }
    be.layer_norm(xn, x, norm_w_, norm_b_, cfg_.eps);
    be.copy(x, xn);
}

double SiglipEncoder::flops(int n) const {
    const double N = cfg_.num_patches(), W = cfg_.width, F = cfg_.mlp_dim, K = 3.0 * cfg_.patch_size * cfg_.patch_size;
    double per_image = 2 * N * K * W;                       // patch embed
    double per_block = 2 * N * W * (3 * W + W + 2 * F)      // qkv, proj, fc1, fc2
                       + 2 * 2 * N * N * W;                 // scores + weighted sum
    return n * (per_image + cfg_.depth() * per_block);
}

}  // namespace janus::vision
