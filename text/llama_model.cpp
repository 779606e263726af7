// LlamaModel implementation (see text/llama_model.h). Per layer, over the stacked tokens x[T, D]:
//   xn = RMSNorm(x)·w_in;  q,k,v = xn·Wqᵀ(+b), xn·Wkᵀ(+b), xn·Wvᵀ(+b)   [T, H·Dh], [T, Hkv·Dh]
//   RoPE(q, k) at each token's own position; k, v appended to the chunk's KV slot;
//   a = attention(q_chunk, K_slot[0 : start+n], V_slot, causal from `start`) per chunk, all chunks in
//       one Backend::attention_multi call (one thread-pool dispatch per layer)
//   x += a·Woᵀ;  xn = RMSNorm(x)·w_post;  x += (silu(xn·Wgᵀ) · xn·Wuᵀ)·Wdᵀ
// then h = RMSNorm(x[output rows])·w_final and logits = h·W_headᵀ.
#include "text/llama_model.h"

#include <cmath>
#include <set>

#include "janus/error.h"
#include "kernels/graph_capture.h"
#include "text/rope.h"

namespace janus {

size_t LmWeights::bytes() const {
    size_t n = embed.nbytes() + final_norm.nbytes();
    if (lm_head.data() != embed.data()) n += lm_head.nbytes();
    for (auto& l : layers)
        for (const Tensor* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.bo,
                                &l.mlp_norm, &l.w_gate, &l.w_up, &l.w_down, &l.b_gate, &l.b_up, &l.b_down})
            if (t->defined()) n += t->nbytes();
    return n;
}

LmWeights load_lm_weights(const LmConfig& cfg, const TensorLookup& find, const LmTensorNames& names,
                          Backend& backend, const std::string& source) {
    std::vector<std::string> problems;
    auto get = [&](const std::string& name, std::vector<int64_t> shape, bool required = true) -> Tensor {
        Tensor t = find(name);
        if (!t.defined()) {
            if (required) problems.push_back("missing tensor '" + name + "'");
            return {};
        }
        if (t.shape().vec() != shape) {
            problems.push_back("tensor '" + name + "' has shape " + t.shape().str() + ", expected " +
                               Shape(shape).str());
            return {};
        }
        if (!dtype_is_float(t.dtype()) || t.dtype() == DType::f64) {
            problems.push_back("tensor '" + name + "' has dtype " + dtype_name(t.dtype()) +
                               " (expected f32, bf16 or f16)");
            return {};
        }
        return backend.upload(t);
    };
    const int64_t D = cfg.hidden, F = cfg.intermediate, V = cfg.vocab_size;
    LmWeights w;
    const std::string& p = names.body;
    w.embed = get(p + "embed_tokens.weight", {V, D});
    w.final_norm = get(p + "norm.weight", {D});
    for (int64_t i = 0; i < cfg.layers; i++) {
        std::string l = p + "layers." + std::to_string(i) + ".";
        LayerWeights lw;
        lw.attn_norm = get(l + "input_layernorm.weight", {D});
        lw.wq = get(l + "self_attn.q_proj.weight", {cfg.q_dim(), D});
        lw.wk = get(l + "self_attn.k_proj.weight", {cfg.kv_dim(), D});
        lw.wv = get(l + "self_attn.v_proj.weight", {cfg.kv_dim(), D});
        lw.wo = get(l + "self_attn.o_proj.weight", {D, cfg.q_dim()});
        if (cfg.qkv_bias) {
            lw.bq = get(l + "self_attn.q_proj.bias", {cfg.q_dim()});
            lw.bk = get(l + "self_attn.k_proj.bias", {cfg.kv_dim()});
            lw.bv = get(l + "self_attn.v_proj.bias", {cfg.kv_dim()});
        }
        if (cfg.o_bias) lw.bo = get(l + "self_attn.o_proj.bias", {D});
        lw.mlp_norm = get(l + "post_attention_layernorm.weight", {D});
        lw.w_gate = get(l + "mlp.gate_proj.weight", {F, D});
        lw.w_up = get(l + "mlp.up_proj.weight", {F, D});
        lw.w_down = get(l + "mlp.down_proj.weight", {D, F});
        if (cfg.mlp_bias) {
            lw.b_gate = get(l + "mlp.gate_proj.bias", {F});
            lw.b_up = get(l + "mlp.up_proj.bias", {F});
            lw.b_down = get(l + "mlp.down_proj.bias", {D});
        }
        w.layers.push_back(std::move(lw));
    }
    if (cfg.tie_embeddings) {
        w.lm_head = get(names.lm_head, {V, D}, /*required=*/false);
        if (!w.lm_head.defined()) w.lm_head = w.embed;
    } else {
        w.lm_head = get(names.lm_head, {V, D});
    }
    if (!problems.empty()) {
        std::string msg = source + ": the checkpoint does not match its config (" + cfg.summary() + "):";
        size_t shown = 0;
        for (auto& s : problems) {
            if (shown++ == 8) {
                msg += "\n  ... and " + std::to_string(problems.size() - 8) + " more";
                break;
            }
            msg += "\n  " + s;
        }
        throw Error(msg + "\nCheck that config.json belongs to these weights.");
    }
    return w;
}

LlamaModel::LlamaModel(Backend& backend, LmConfig cfg, LmWeights weights, LmRunOptions options)
    : backend_(&backend), cfg_(std::move(cfg)), w_(std::move(weights)), options_(options) {
    switch (options.dtype) {
        case ComputeDType::f32: bf16_ = false; break;
        case ComputeDType::bf16: bf16_ = true; break;
        case ComputeDType::auto_: bf16_ = w_.dtype() == DType::bf16; break;
    }
    prec_ = bf16_ ? MatmulPrecision::bf16 : MatmulPrecision::f32;
    inv_freq_host_ = rope_inv_freq(cfg_, bf16_ && !options.rope_exact);
    inv_freq_ = backend.upload(Tensor::from_f32(inv_freq_host_, {int64_t(inv_freq_host_.size())}));
}

Tensor LlamaModel::ws(const char* name, DType dt, int64_t rows, int64_t cols) {
    Tensor& t = workspace_[name];
    if (!t.defined() || t.dim(0) < rows || t.dim(1) != cols || t.dtype() != dt)
        t = backend_->alloc(dt, {std::max<int64_t>(rows, 1), cols});
    return t.rows(0, rows);
}

void LlamaModel::round(const Tensor& t) {
    if (bf16_) backend_->round_to_bf16(t);
}

void LlamaModel::tick(const char* what) {
    if (!profile_) return;
    backend_->synchronize();
    auto now = std::chrono::steady_clock::now();
    profile_->seconds[what] += std::chrono::duration<double>(now - t0_).count();
    t0_ = now;
}

void LlamaModel::linear(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b) {
    backend_->matmul(y, x, w, b, prec_, false);
    round(y);
}

// x += in·wᵀ (+b). bf16: torch rounds the projection, then the sum, so go through `tmp`.
void LlamaModel::linear_residual(const Tensor& x, const Tensor& in, const Tensor& w, const Tensor& b,
                                 const Tensor& tmp) {
    if (!bf16_) {
        backend_->matmul(x, in, w, b, prec_, true);
        return;
    }
    backend_->matmul(tmp, in, w, b, prec_, false);
    backend_->round_to_bf16(tmp);
    backend_->add(x, x, tmp);
    backend_->round_to_bf16(x);
}

void LlamaModel::embed(const Tensor& out, const Tensor& ids) {
    backend_->embedding(out, w_.embed, ids);
    round(out);
}

StepOutputs LlamaModel::forward(std::span<const SeqChunk> chunks, KvCache& cache, bool want_logits) {
    Backend& be = *backend_;
    const int64_t D = cfg_.hidden, H = cfg_.heads, Hkv = cfg_.kv_heads, Dh = cfg_.head_dim;
    const int64_t F = cfg_.intermediate, V = cfg_.vocab_size;
    if (chunks.empty()) throw Error("LlamaModel::forward: no sequences in the batch");

    // ---- validate and lay out the batch ----
    std::set<int> seen;
    int64_t T = 0, R = 0;
    StepOutputs out;
    std::vector<int64_t> offset(chunks.size());
    for (size_t i = 0; i < chunks.size(); i++) {
        const SeqChunk& c = chunks[i];
        const int64_t n = c.size();
        if (n <= 0) throw Error("LlamaModel::forward: sequence " + std::to_string(i) + " has no tokens");
        if (c.slot < 0 || c.slot >= cache.slots())
            throw Error("LlamaModel::forward: KV slot " + std::to_string(c.slot) + " out of range (" +
                        std::to_string(cache.slots()) + " slots)");
        if (!seen.insert(c.slot).second)
            throw Error("LlamaModel::forward: KV slot " + std::to_string(c.slot) + " appears twice in one step");
        if (c.start < 0 || c.start > cache.length(c.slot))
            throw Error("LlamaModel::forward: start position " + std::to_string(c.start) +
                        " is beyond the " + std::to_string(cache.length(c.slot)) +
                        " tokens cached for slot " + std::to_string(c.slot));
        if (c.start + n > cache.capacity())
            throw Error("context overflow: sequence in slot " + std::to_string(c.slot) + " would reach " +
                        std::to_string(c.start + n) + " tokens but the context holds " +
                        std::to_string(cache.capacity()) + " (raise --ctx, or shorten the prompt)");
        if (c.embeds.defined() &&
            (c.embeds.ndim() != 2 || c.embeds.dim(1) != D || c.embeds.dtype() != DType::f32))
            throw Error("LlamaModel::forward: embeddings must be f32 [n, " + std::to_string(D) + "], got " +
                        c.embeds.str());
        offset[i] = T;
        T += n;
        int64_t k = c.output == OutputRows::none ? 0 : c.output == OutputRows::last ? 1 : n;
        out.first.push_back(k ? R : -1);
        out.count.push_back(k);
        R += k;
    }
    if (profile_) {
        be.synchronize();
        t0_ = std::chrono::steady_clock::now();
        profile_->steps++;
    }

    // ---- index tensors: positions [T] and token ids (token rows) in workspace buffers, so a step
    // allocates nothing once the workspace has grown (one host→device copy each) ----
    std::vector<int32_t> pos_host(static_cast<size_t>(T)), ids_host(static_cast<size_t>(T), 0);
    for (size_t i = 0; i < chunks.size(); i++) {
        const SeqChunk& c = chunks[i];
        for (int64_t j = 0; j < c.size(); j++) {
            pos_host[size_t(offset[i] + j)] = int32_t(c.start + j);
            if (!c.embeds.defined()) {
                int32_t id = c.tokens[size_t(j)];
                if (id < 0 || id >= V)
                    throw Error("LlamaModel::forward: token id " + std::to_string(id) +
                                " outside the vocabulary [0, " + std::to_string(V) + ")");
                ids_host[size_t(offset[i] + j)] = id;
            }
        }
    }
    Tensor pos = ws("pos", DType::i32, T, 1).reshape({T});
    Tensor ids = ws("ids", DType::i32, T, 1).reshape({T});
    be.copy(pos, Tensor(pos_host.data(), DType::i32, {T}));
    be.copy(ids, Tensor(ids_host.data(), DType::i32, {T}));

    // ---- workspace (all allocation happens here, before a step graph may be captured) ----
    Tensor x = ws("x", DType::f32, T, D);
    Tensor xn = ws("xn", DType::f32, T, D);
    Tensor q = ws("q", DType::f32, T, cfg_.q_dim());
    Tensor k = ws("k", DType::f32, T, cfg_.kv_dim());
    Tensor v = ws("v", DType::f32, T, cfg_.kv_dim());
    Tensor att = ws("att", DType::f32, T, cfg_.q_dim());
    Tensor tmp = ws("tmp", DType::f32, T, D);
    Tensor gate = ws("gate", DType::f32, T, F);
    Tensor up = ws("up", DType::f32, T, F);
    Tensor hsel, logits;
    if (R > 0) {
        hsel = ws("hsel", DType::f32, R, D);
        out.hidden = ws("hidden", DType::f32, R, D);
        if (want_logits) logits = ws("logits", DType::f32, R, V);
    }
    // Ready-made embeddings may be host memory: copy them in before capturing.
    for (size_t i = 0; i < chunks.size(); i++)
        if (chunks[i].embeds.defined()) be.copy(x.rows(offset[i], offset[i] + chunks[i].size()), chunks[i].embeds);

    // ---- the step proper: only device-side ops from here (capturable as one graph) ----
    GraphCapture graph(be, options_.step_graphs && !profile_);  // aborted if an op throws
    for (size_t i = 0; i < chunks.size(); i++) {
        const SeqChunk& c = chunks[i];
        Tensor dst = x.rows(offset[i], offset[i] + c.size());
        if (c.embeds.defined()) round(dst);
        else embed(dst, ids.rows(offset[i], offset[i] + c.size()));
    }
    tick("embed");

    const float scale = 1.0f / std::sqrt(float(Dh));
    const DType kvt = cache.dtype();

    std::vector<Backend::AttentionSeq> attn_seqs;
    attn_seqs.reserve(chunks.size());
    for (int64_t l = 0; l < cfg_.layers; l++) {
        const LayerWeights& lw = w_.layers[size_t(l)];
        be.rms_norm(xn, x, lw.attn_norm, cfg_.rms_eps, bf16_);
        round(xn);
        tick("norm");
        linear(q, xn, lw.wq, lw.bq);
        linear(k, xn, lw.wk, lw.bk);
        linear(v, xn, lw.wv, lw.bv);
        tick("matmul_qkv");
        be.rope(q.reshape({T, H, Dh}), pos, inv_freq_, bf16_);
        be.rope(k.reshape({T, Hkv, Dh}), pos, inv_freq_, bf16_);
        round(q);
        round(k);
        tick("rope");
        for (size_t i = 0; i < chunks.size(); i++) {
            const SeqChunk& c = chunks[i];
            const int64_t n = c.size();
            Tensor ks = k.rows(offset[i], offset[i] + n).reshape({n, Hkv, Dh});
            Tensor vs = v.rows(offset[i], offset[i] + n).reshape({n, Hkv, Dh});
            Tensor kd = cache.k(int(l), c.slot).rows(c.start, c.start + n);
            Tensor vd = cache.v(int(l), c.slot).rows(c.start, c.start + n);
            if (kvt == DType::f32) {
                be.copy(kd, ks);
                be.copy(vd, vs);
            } else {
                be.convert(kd, ks);
                be.convert(vd, vs);
            }
        }
        tick("kv_write");
        attn_seqs.clear();
        for (size_t i = 0; i < chunks.size(); i++) {
            const SeqChunk& c = chunks[i];
            const int64_t n = c.size();
            attn_seqs.push_back({att.rows(offset[i], offset[i] + n).reshape({n, H, Dh}),
                                 q.rows(offset[i], offset[i] + n).reshape({n, H, Dh}),
                                 cache.k(int(l), c.slot).rows(0, c.start + n),
                                 cache.v(int(l), c.slot).rows(0, c.start + n), c.start});
        }
        be.attention_multi(attn_seqs, scale);  // all sequences in one dispatch
        round(att);
        tick("attention");
        linear_residual(x, att, lw.wo, lw.bo, tmp);
        tick("matmul_o");
        be.rms_norm(xn, x, lw.mlp_norm, cfg_.rms_eps, bf16_);
        round(xn);
        tick("norm");
        linear(gate, xn, lw.w_gate, lw.b_gate);
        linear(up, xn, lw.w_up, lw.b_up);
        tick("matmul_gate_up");
        if (bf16_) {  // torch: bf16(silu(gate)) · up, rounded again
            be.silu(gate, gate);
            be.round_to_bf16(gate);
            be.mul(gate, gate, up);
            be.round_to_bf16(gate);
        } else {
            be.swiglu(gate, gate, up);
        }
        tick("swiglu");
        linear_residual(x, gate, lw.w_down, lw.b_down, tmp);
        tick("matmul_down");
    }
    // ---- final norm on the requested rows, LM head ----
    if (R > 0) {
        for (size_t i = 0; i < chunks.size(); i++) {
            if (out.count[i] == 0) continue;
            int64_t end = offset[i] + chunks[i].size();
            be.copy(hsel.rows(out.first[i], out.first[i] + out.count[i]), x.rows(end - out.count[i], end));
        }
        be.rms_norm(out.hidden, hsel, w_.final_norm, cfg_.rms_eps, bf16_);
        round(out.hidden);
        tick("norm");
        if (want_logits) {
            out.logits = logits;
            linear(out.logits, out.hidden, w_.lm_head, Tensor());
            tick("lm_head");
        }
    }
    if (graph.commit()) be.replay();
    for (size_t i = 0; i < chunks.size(); i++) cache.set_length(chunks[i].slot, chunks[i].start + chunks[i].size());
    return out;
}

}  // namespace janus
