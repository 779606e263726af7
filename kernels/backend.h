// Backend: the narrow interface every compute device implements — memory (allocate, copy, zero,
// synchronize, report) and the op table the models are built from. Model code (text/, vision/,
// pipelines/) calls only this interface; it never sees CUDA or SIMD. The CPU backend is always
// present and is the reference; others (CUDA) register through kernels/backend_registry.cpp.
//
// Op conventions (every backend, tested by the shared table in tests/ops/):
// - All tensors contiguous row-major and resident on the backend's device (CPU: any host memory,
//   including mmap'd checkpoint tensors). Activations are f32 unless an op says otherwise.
// - Weights (matmul `w`, norm weights, biases, embedding tables, conv kernels) may be f32/bf16/f16;
//   they are converted exactly to f32 and accumulated in f32.
// - `out` may alias an input only where an op says "in place".
// - Ops validate shapes/dtypes and throw janus::Error on mismatch; they never read out of bounds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/tensor.h"

namespace janus {

struct MemoryInfo {
    size_t total = 0;       // device (or system) memory in bytes
    size_t available = 0;   // what can still be allocated, as the OS/driver reports it
    size_t allocated = 0;   // bytes this backend currently holds in its own allocations
};

// How a matmul may round its activation operand.
enum class MatmulPrecision : uint8_t {
    f32,   // x used as f32; exact f32 products of converted weights (the reference path)
    bf16,  // x rounded to bf16 first (what a bf16 model does anyway); lets bf16 weights use
           // bf16 dot-product units (AVX512-BF16, tensor cores). Accumulation stays f32.
};

struct Conv2dParams {
    int stride = 1;
    int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;  // zero padding
    static Conv2dParams same(int pad, int stride = 1) { return {stride, pad, pad, pad, pad}; }
};

class Backend {
public:
    virtual ~Backend() = default;

    // ---- identity and memory -------------------------------------------------------------------
    virtual std::string name() const = 0;          // "cpu", "cuda:0"
    virtual Device device() const = 0;
    virtual Tensor alloc(DType dtype, const Shape& shape) = 0;  // uninitialised
    virtual void zero(const Tensor& t) = 0;
    // Copy between any two tensors of equal dtype and numel; either side may be host memory.
    virtual void copy(const Tensor& dst, const Tensor& src) = 0;
    // A tensor this backend can compute on: `t` itself when it already can (CPU: any host tensor,
    // so mmap'd weights are used in place), otherwise a device copy.
    virtual Tensor upload(const Tensor& t) = 0;
    virtual void synchronize() = 0;
    virtual MemoryInfo memory() const = 0;
    virtual int threads() const { return 1; }

    // ---- step graphs (optional) --------------------------------------------------------------------
    // begin_capture() returns true when the backend records the ops issued until end_capture()
    // instead of running them (CUDA: a CUDA graph on its stream); replay() then runs the recording,
    // as often as wanted. Re-capturing the same sequence with new arguments (positions, cache length)
    // updates the recording cheaply. Backends without graphs (CPU) return false and run ops at once,
    // so callers write: bool g = b.begin_capture(); step(); if (g) { b.end_capture(); b.replay(); }
    // — or, so that an exception inside the step cannot leave the backend capturing, use
    // GraphCapture (kernels/graph_capture.h), which calls abort_capture() on any other exit.
    // While capturing: no alloc(), no copy() touching host memory, no synchronize().
    virtual bool begin_capture() { return false; }
    virtual void end_capture() {}
    // Ends a capture without keeping it (nothing recorded runs; the previous recording is dropped,
    // so replay() asks for a new capture). No-op when not capturing. Never throws.
    virtual void abort_capture() {}
    virtual void replay() {}

    // ---- op table --------------------------------------------------------------------------------
    // out[n, D] f32 = table[ids[i], :]; ids i32 [n]; throws on an id outside [0, V).
    virtual void embedding(const Tensor& out, const Tensor& table, const Tensor& ids) = 0;

    // y[M, N] (=|+=) x[M, K] · w[N, K]ᵀ (+ bias[N]). accumulate=true adds into y (residuals).
    // Decode (M small) is a GEMV bound by reading w once; prefill/batched rows are a GEMM.
    virtual void matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                        MatmulPrecision precision = MatmulPrecision::f32, bool accumulate = false) = 0;

    // y[M, D] = x · rsqrt(mean(x²) + eps) · w. With round_bf16 the normalised x is rounded to bf16
    // before the weight multiply (HF Llama's order for bf16 models, facts §6.1).
    virtual void rms_norm(const Tensor& y, const Tensor& x, const Tensor& w, float eps,
                          bool round_bf16 = false) = 0;
    // y[M, D] = (x − mean) / sqrt(var + eps) · w + b (biased variance).
    virtual void layer_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                            float eps) = 0;
    // y[N, C, H, W] = GroupNorm(groups, eps)(x) · w[C] + b[C], then x·sigmoid(x) when swish.
    virtual void group_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                            int groups, float eps, bool swish) = 0;

    // In place on x[M, H, Dh]: rotate-half RoPE for row m at position pos[m] (i32 [M]):
    // angle_j = pos · inv_freq[j] (f32), x'[j] = x[j]·cos − x[j+Dh/2]·sin,
    // x'[j+Dh/2] = x[j+Dh/2]·cos + x[j]·sin, j < Dh/2. round_bf16 rounds cos/sin to bf16 first.
    virtual void rope(const Tensor& x, const Tensor& pos, const Tensor& inv_freq,
                      bool round_bf16 = false) = 0;

    // In place softmax over the last dim of x[M, N].
    virtual void softmax(const Tensor& x) = 0;

    // out[Tq, H, Dh] = softmax(q·kᵀ·scale + mask)·v for q[Tq, H, Dh], k/v[Tk, Hkv, Dh]
    // (f32, bf16 or f16 — the KV cache dtype); head h reads kv head h / (H / Hkv).
    // causal_start < 0: no mask. Otherwise query i sits at position causal_start + i and sees
    // keys 0 .. causal_start + i (requires Tk >= causal_start + Tq).
    virtual void attention(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v,
                           float scale, int64_t causal_start) = 0;
    // Several independent attentions in one call (a batched decode/prefill step: one entry per
    // sequence, each with its own query rows, its own K/V view — its slot of the cache — and causal
    // start), each exactly as attention() defines it and giving bitwise the same result. Backends
    // parallelise over (sequence × head) in one dispatch; the default runs attention() per entry.
    struct AttentionSeq {
        Tensor out, q;              // [Tq_i, H, Dh] f32
        Tensor k, v;                // [Tk_i, Hkv, Dh]
        int64_t causal_start = -1;  // as in attention()
    };
    virtual void attention_multi(const std::vector<AttentionSeq>& seqs, float scale) {
        for (const AttentionSeq& s : seqs) attention(s.out, s.q, s.k, s.v, scale, s.causal_start);
    }

    // Elementwise over equal shapes; `b` may also be a vector broadcast over the rows of `a`
    // (a[..., N], b[N]). In place allowed (y may be a).
    virtual void add(const Tensor& y, const Tensor& a, const Tensor& b) = 0;
    virtual void mul(const Tensor& y, const Tensor& a, const Tensor& b) = 0;
    virtual void scale(const Tensor& y, const Tensor& x, float s) = 0;
    virtual void silu(const Tensor& y, const Tensor& x) = 0;
    virtual void gelu(const Tensor& y, const Tensor& x) = 0;  // exact erf GELU
    // y[M, F] = silu(gate) · up  (SwiGLU); in place allowed (y may be gate).
    virtual void swiglu(const Tensor& y, const Tensor& gate, const Tensor& up) = 0;
    // In place: round every element of an f32 tensor to bf16 precision (bf16 emulation).
    virtual void round_to_bf16(const Tensor& x) = 0;
    // y = x converted between f32/bf16/f16 (same numel).
    virtual void convert(const Tensor& y, const Tensor& x) = 0;

    // y[N, Co, Ho, Wo] = conv(x[N, Ci, H, W], w[Co, Ci, kh, kw]) + bias[Co] (bias may be undefined),
    // Ho = (H + pad_top + pad_bottom − kh) / stride + 1 (likewise Wo).
    virtual void conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                        const Conv2dParams& p) = 0;
    // y[N, C, 2H, 2W] = nearest-neighbour 2× upsample of x[N, C, H, W].
    virtual void upsample_nearest2x(const Tensor& y, const Tensor& x) = 0;
};

// ---- registry ----------------------------------------------------------------------------------
// The CPU backend (process-wide; threads default to the number of physical cores).
Backend& cpu_backend();
// Set the CPU backend's thread count (0 = physical cores).
void set_cpu_threads(int n);
// "cpu", "cuda", "cuda:N" or "auto" (CUDA when a device is present, else CPU). Throws janus::Error
// naming what is available when the request cannot be met.
Backend& get_backend(const std::string& spec);
// Human-readable list of backends compiled in and devices found, e.g. for `janus info`.
std::vector<std::string> describe_backends();

}  // namespace janus
