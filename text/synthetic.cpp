// Synthetic model shapes and random weights (see text/synthetic.h). Filling is done on the host with
// a per-chunk splitmix64 stream (same weights for any thread count) and uploaded to the backend.
#include "text/synthetic.h"

#include <thread>

#include "janus/error.h"

namespace janus {

LmConfig synthetic_lm_config(const std::string& name) {
    LmConfig c;
    c.architecture = "LlamaForCausalLM";
    c.vocab_size = 102400;
    c.rms_eps = 1e-6f;
    c.rope_theta = 10000.0f;
    c.max_position = 16384;
    c.head_dim = 128;
    if (name == "janus-pro-1b") {  // facts §1.2
        c.hidden = 2048;
        c.intermediate = 5632;
        c.layers = 24;
        c.heads = c.kv_heads = 16;
    } else if (name == "janus-pro-7b") {
        c.hidden = 4096;
        c.intermediate = 11008;
        c.layers = 30;
        c.heads = c.kv_heads = 32;
    } else if (name == "tiny") {
        c.vocab_size = 512;
        c.hidden = 128;
        c.intermediate = 352;
        c.layers = 2;
        c.heads = c.kv_heads = 4;
        c.head_dim = 32;
    } else {
        throw Error("--synthetic: unknown model shape '" + name + "' (use janus-pro-1b, janus-pro-7b or tiny)");
    }
    return c;
}

namespace {
inline uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

Tensor random_tensor(const Shape& shape, DType dtype, float scale, float offset, uint64_t seed, int threads) {
    Tensor t = Tensor::empty(dtype, shape);
    const int64_t n = t.numel();
    const int64_t chunk = 1 << 20;
    const int64_t chunks = (n + chunk - 1) / chunk;
    auto fill = [&](int worker) {
        for (int64_t c = worker; c < chunks; c += threads) {
            uint64_t s = seed * 0x632BE59BD9B4E019ull + uint64_t(c);
            for (int64_t i = c * chunk; i < std::min(n, (c + 1) * chunk); i += 4) {
                uint64_t r = splitmix(s);
                for (int64_t k = 0; k < 4 && i + k < n; k++) {
                    float u = float((r >> (16 * k)) & 0xffff) * (1.0f / 32768.0f) - 1.0f;
                    float v = offset + scale * u;
                    if (dtype == DType::f32) t.ptr<float>()[i + k] = v;
                    else if (dtype == DType::bf16) t.ptr<uint16_t>()[i + k] = f32_to_bf16(v);
                    else t.ptr<uint16_t>()[i + k] = f32_to_f16(v);
                }
            }
        }
    };
    std::vector<std::thread> pool;
    for (int w = 1; w < threads; w++) pool.emplace_back(fill, w);
    fill(0);
    for (auto& th : pool) th.join();
    return t;
}
}  // namespace

LmWeights synthetic_lm_weights(const LmConfig& c, DType dtype, Backend& backend, uint64_t seed, int threads) {
    if (dtype != DType::f32 && dtype != DType::bf16 && dtype != DType::f16)
        throw Error(std::string("synthetic weights: unsupported dtype ") + dtype_name(dtype));
    threads = std::max(1, threads);
    uint64_t k = seed * 1000;
    auto w = [&](std::vector<int64_t> s) {
        return backend.upload(random_tensor(Shape(s), dtype, 0.02f, 0.0f, ++k, threads));
    };
    auto norm = [&](int64_t d) { return backend.upload(random_tensor({d}, dtype, 0.0f, 1.0f, ++k, 1)); };
    LmWeights lw;
    const int64_t D = c.hidden, F = c.intermediate;
    lw.embed = w({c.vocab_size, D});
    for (int64_t l = 0; l < c.layers; l++) {
        LayerWeights L;
        L.attn_norm = norm(D);
        L.wq = w({c.q_dim(), D});
        L.wk = w({c.kv_dim(), D});
        L.wv = w({c.kv_dim(), D});
        L.wo = w({D, c.q_dim()});
        L.mlp_norm = norm(D);
        L.w_gate = w({F, D});
        L.w_up = w({F, D});
        L.w_down = w({D, F});
        lw.layers.push_back(std::move(L));
    }
    lw.final_norm = norm(D);
    lw.lm_head = c.tie_embeddings ? lw.embed : w({c.vocab_size, D});
    return lw;
}

}  // namespace janus
