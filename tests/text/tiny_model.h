// Test helpers: tiny random Llama-family decoders built in memory, and an independent float64 scalar
// reference forward pass (full-sequence causal attention, no KV cache) to compare LlamaModel against.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernels/tensor.h"
#include "tests/common/tolerance.h"
#include "text/llama_model.h"

namespace janus::testing {

inline LmConfig tiny_config(int64_t kv_heads = 2, bool qkv_bias = false, bool tied = false) {
    LmConfig c;
    c.architecture = qkv_bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
    c.vocab_size = 97;
    c.hidden = 64;
    c.intermediate = 96;
    c.layers = 2;
    c.heads = 4;
    c.kv_heads = kv_heads;
    c.head_dim = 16;
    c.max_position = 256;
    c.rms_eps = 1e-6f;
    c.rope_theta = 10000.0f;
    c.qkv_bias = qkv_bias;
    c.tie_embeddings = tied;
    return c;
}

// Deterministic pseudo-random values in [-scale, scale).
struct Lcg {
    uint64_t s;
    explicit Lcg(uint64_t seed) : s(seed * 6364136223846793005ull + 1442695040888963407ull) {}
    float next(float scale) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (float((s >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f) * scale;
    }
};

// Host tensors by HF name ("model.layers.0.self_attn.q_proj.weight", ...), in `dtype`.
struct TinyCheckpoint {
    std::map<std::string, Tensor> tensors;
    Tensor find(const std::string& name) const {
        auto it = tensors.find(name);
        return it == tensors.end() ? Tensor() : it->second;
    }
    // The values as double (after dtype rounding), for the reference.
    std::vector<double> values(const std::string& name) const {
        auto v = tensors.at(name).to_f32_vector();
        return {v.begin(), v.end()};
    }
};

inline TinyCheckpoint make_tiny_checkpoint(const LmConfig& c, DType dtype, uint64_t seed) {
    TinyCheckpoint ck;
    Lcg rng(seed);
    auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale, float offset = 0) {
        Shape s(shape);
        std::vector<float> v(static_cast<size_t>(s.numel()));
        for (auto& x : v) x = offset + rng.next(scale);
        Tensor t = Tensor::empty(dtype, s);
        for (size_t i = 0; i < v.size(); i++) {
            if (dtype == DType::f32) t.ptr<float>()[i] = v[i];
            else if (dtype == DType::bf16) t.ptr<uint16_t>()[i] = f32_to_bf16(v[i]);
            else t.ptr<uint16_t>()[i] = f32_to_f16(v[i]);
        }
        ck.tensors[name] = t;
    };
    const int64_t D = c.hidden, F = c.intermediate;
    add("model.embed_tokens.weight", {c.vocab_size, D}, 1.0f);
    add("model.norm.weight", {D}, 0.2f, 1.0f);
    for (int64_t l = 0; l < c.layers; l++) {
        std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {D}, 0.2f, 1.0f);
        add(p + "post_attention_layernorm.weight", {D}, 0.2f, 1.0f);
        add(p + "self_attn.q_proj.weight", {c.q_dim(), D}, 0.25f);
        add(p + "self_attn.k_proj.weight", {c.kv_dim(), D}, 0.25f);
        add(p + "self_attn.v_proj.weight", {c.kv_dim(), D}, 0.25f);
        add(p + "self_attn.o_proj.weight", {D, c.q_dim()}, 0.25f);
        if (c.qkv_bias) {
            add(p + "self_attn.q_proj.bias", {c.q_dim()}, 0.5f);
            add(p + "self_attn.k_proj.bias", {c.kv_dim()}, 0.5f);
            add(p + "self_attn.v_proj.bias", {c.kv_dim()}, 0.5f);
        }
        add(p + "mlp.gate_proj.weight", {F, D}, 0.25f);
        add(p + "mlp.up_proj.weight", {F, D}, 0.25f);
        add(p + "mlp.down_proj.weight", {D, F}, 0.2f);
    }
    if (!c.tie_embeddings) add("lm_head.weight", {c.vocab_size, D}, 0.3f);
    return ck;
}

// float64 reference: logits [n][V] for every position of `tokens` (positions 0..n-1).
inline std::vector<std::vector<double>> reference_logits(const LmConfig& c, const TinyCheckpoint& ck,
                                                         const std::vector<int32_t>& tokens,
                                                         const std::vector<float>& inv_freq) {
    const int64_t n = int64_t(tokens.size()), D = c.hidden, F = c.intermediate, H = c.heads,
                  Hkv = c.kv_heads, Dh = c.head_dim;
    auto W = [&](const std::string& name) { return ck.values(name); };
    auto matvec = [](const std::vector<double>& w, const std::vector<double>& x, int64_t out, int64_t in) {
        std::vector<double> y(static_cast<size_t>(out), 0.0);
        for (int64_t o = 0; o < out; o++) {
            double s = 0;
            for (int64_t i = 0; i < in; i++) s += w[size_t(o * in + i)] * x[size_t(i)];
            y[size_t(o)] = s;
        }
        return y;
    };
    auto rms = [&](const std::vector<double>& x, const std::vector<double>& w) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double r = 1.0 / std::sqrt(ss / double(x.size()) + double(c.rms_eps));
        std::vector<double> y(x.size());
        for (size_t i = 0; i < x.size(); i++) y[i] = x[i] * r * w[i];
        return y;
    };
    auto rope = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
        for (int64_t h = 0; h < heads; h++)
            for (int64_t j = 0; j < Dh / 2; j++) {
                double a = double(pos) * double(inv_freq[size_t(j)]);
                double cs = std::cos(a), sn = std::sin(a);
                double& x0 = v[size_t(h * Dh + j)];
                double& x1 = v[size_t(h * Dh + j + Dh / 2)];
                double a0 = x0, a1 = x1;
                x0 = a0 * cs - a1 * sn;
                x1 = a1 * cs + a0 * sn;
            }
    };
    auto emb = W("model.embed_tokens.weight");
    std::vector<std::vector<double>> x(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; t++)
        x[size_t(t)].assign(emb.begin() + tokens[size_t(t)] * D, emb.begin() + (tokens[size_t(t)] + 1) * D);
    for (int64_t l = 0; l < c.layers; l++) {
        std::string p = "model.layers." + std::to_string(l) + ".";
        auto wq = W(p + "self_attn.q_proj.weight"), wk = W(p + "self_attn.k_proj.weight"),
             wv = W(p + "self_attn.v_proj.weight"), wo = W(p + "self_attn.o_proj.weight");
        auto n1 = W(p + "input_layernorm.weight"), n2 = W(p + "post_attention_layernorm.weight");
        auto wg = W(p + "mlp.gate_proj.weight"), wu = W(p + "mlp.up_proj.weight"), wd = W(p + "mlp.down_proj.weight");
        std::vector<std::vector<double>> Q(static_cast<size_t>(n)), K(static_cast<size_t>(n)), Vv(static_cast<size_t>(n));
        for (int64_t t = 0; t < n; t++) {
            auto xn = rms(x[size_t(t)], n1);
            Q[size_t(t)] = matvec(wq, xn, c.q_dim(), D);
            K[size_t(t)] = matvec(wk, xn, c.kv_dim(), D);
            Vv[size_t(t)] = matvec(wv, xn, c.kv_dim(), D);
            if (c.qkv_bias) {
                auto bq = W(p + "self_attn.q_proj.bias"), bk = W(p + "self_attn.k_proj.bias"),
                     bv = W(p + "self_attn.v_proj.bias");
                for (int64_t i = 0; i < c.q_dim(); i++) Q[size_t(t)][size_t(i)] += bq[size_t(i)];
                for (int64_t i = 0; i < c.kv_dim(); i++) {
                    K[size_t(t)][size_t(i)] += bk[size_t(i)];
                    Vv[size_t(t)][size_t(i)] += bv[size_t(i)];
                }
            }
            rope(Q[size_t(t)], H, t);
            rope(K[size_t(t)], Hkv, t);
        }
        for (int64_t t = 0; t < n; t++) {
            std::vector<double> att(static_cast<size_t>(c.q_dim()), 0.0);
            for (int64_t h = 0; h < H; h++) {
                int64_t kh = h / (H / Hkv);
                std::vector<double> s(static_cast<size_t>(t + 1));
                double mx = -1e300;
                for (int64_t u = 0; u <= t; u++) {
                    double d = 0;
                    for (int64_t j = 0; j < Dh; j++)
                        d += Q[size_t(t)][size_t(h * Dh + j)] * K[size_t(u)][size_t(kh * Dh + j)];
                    s[size_t(u)] = d / std::sqrt(double(Dh));
                    mx = std::max(mx, s[size_t(u)]);
                }
                double sum = 0;
                for (auto& v : s) sum += (v = std::exp(v - mx));
                for (int64_t u = 0; u <= t; u++)
                    for (int64_t j = 0; j < Dh; j++)
                        att[size_t(h * Dh + j)] += s[size_t(u)] / sum * Vv[size_t(u)][size_t(kh * Dh + j)];
            }
            auto o = matvec(wo, att, D, c.q_dim());
            for (int64_t i = 0; i < D; i++) x[size_t(t)][size_t(i)] += o[size_t(i)];
            auto xn = rms(x[size_t(t)], n2);
            auto g = matvec(wg, xn, F, D), u = matvec(wu, xn, F, D);
            for (int64_t i = 0; i < F; i++) g[size_t(i)] = g[size_t(i)] / (1 + std::exp(-g[size_t(i)])) * u[size_t(i)];
            auto dn = matvec(wd, g, D, F);
            for (int64_t i = 0; i < D; i++) x[size_t(t)][size_t(i)] += dn[size_t(i)];
        }
    }
    auto fn = W("model.norm.weight");
    auto head = W(c.tie_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
    std::vector<std::vector<double>> out;
    for (int64_t t = 0; t < n; t++) out.push_back(matvec(head, rms(x[size_t(t)], fn), c.vocab_size, D));
    return out;
}

using janus::testing::max_rel_error;  // tests/common/tolerance.h

}  // namespace janus::testing
