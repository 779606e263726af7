// Synthetic model shapes and random weights (see text/synthetic.h). Filling is done on the host with
// a per-chunk splitmix64 stream (same weights for any thread count) and uploaded to the backend.
#include "text/synthetic.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
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

void write_synthetic_checkpoint(const LmConfig& c, DType dtype, const std::string& dir, uint64_t seed, int threads) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir + ": cannot create directory: " + ec.message());
    const char* st = dtype == DType::bf16 ? "BF16" : dtype == DType::f16 ? "F16" : dtype == DType::f32 ? "F32" : nullptr;
    if (!st) throw Error(std::string("synthetic checkpoint: unsupported dtype ") + dtype_name(dtype));
    // Same tensor order and seeds as synthetic_lm_weights.
    struct Item {
        std::string name;
        Shape shape;
        float scale, offset;
    };
    std::vector<Item> items;
    const int64_t D = c.hidden, F = c.intermediate;
    items.push_back({"model.embed_tokens.weight", {c.vocab_size, D}, 0.02f, 0});
    for (int64_t l = 0; l < c.layers; l++) {
        std::string p = "model.layers." + std::to_string(l) + ".";
        items.push_back({p + "input_layernorm.weight", {D}, 0, 1});
        items.push_back({p + "self_attn.q_proj.weight", {c.q_dim(), D}, 0.02f, 0});
        items.push_back({p + "self_attn.k_proj.weight", {c.kv_dim(), D}, 0.02f, 0});
        items.push_back({p + "self_attn.v_proj.weight", {c.kv_dim(), D}, 0.02f, 0});
        items.push_back({p + "self_attn.o_proj.weight", {D, c.q_dim()}, 0.02f, 0});
        items.push_back({p + "post_attention_layernorm.weight", {D}, 0, 1});
        items.push_back({p + "mlp.gate_proj.weight", {F, D}, 0.02f, 0});
        items.push_back({p + "mlp.up_proj.weight", {F, D}, 0.02f, 0});
        items.push_back({p + "mlp.down_proj.weight", {D, F}, 0.02f, 0});
    }
    items.push_back({"model.norm.weight", {D}, 0, 1});
    if (!c.tie_embeddings) items.push_back({"lm_head.weight", {c.vocab_size, D}, 0.02f, 0});
    nlohmann::json h = nlohmann::json::object();
    uint64_t off = 0;
    for (auto& it : items) {
        uint64_t n = uint64_t(it.shape.numel()) * dtype_size(dtype);
        h[it.name] = {{"dtype", st}, {"shape", it.shape.vec()}, {"data_offsets", {off, off + n}}};
        off += n;
    }
    h["__metadata__"] = {{"format", "pt"}, {"janus", "synthetic random weights"}};
    std::string hs = h.dump();
    while ((8 + hs.size()) % 64) hs += ' ';
    const std::string path = (fs::path(dir) / "model.safetensors").string();
    std::ofstream f(path, std::ios::binary);
    if (!f) throw Error(path + ": cannot write");
    uint64_t hl = hs.size();
    f.write(reinterpret_cast<const char*>(&hl), 8);
    f.write(hs.data(), std::streamsize(hs.size()));
    uint64_t k = seed * 1000;
    for (auto& it : items) {
        Tensor t = random_tensor(it.shape, dtype, it.scale, it.offset, ++k, it.shape.ndim > 1 ? threads : 1);
        f.write(static_cast<const char*>(t.data()), std::streamsize(t.nbytes()));
    }
    if (!f) throw Error(path + ": write failed (disk full?)");
    nlohmann::json cfg = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                          {"vocab_size", c.vocab_size}, {"hidden_size", D}, {"intermediate_size", F},
                          {"num_hidden_layers", c.layers}, {"num_attention_heads", c.heads},
                          {"num_key_value_heads", c.kv_heads}, {"head_dim", c.head_dim},
                          {"max_position_embeddings", c.max_position}, {"rms_norm_eps", c.rms_eps},
                          {"rope_theta", c.rope_theta}, {"tie_word_embeddings", c.tie_embeddings},
                          {"torch_dtype", dtype == DType::bf16 ? "bfloat16" : dtype == DType::f16 ? "float16" : "float32"}};
    std::ofstream(fs::path(dir) / "config.json") << cfg.dump(2) << "\n";
}

}  // namespace janus
