// CPU matmul op: y[M, N] (=|+=) x[M, K] · w[N, K]ᵀ (+ bias[N]); w f32/bf16/f16 (gemm.h) or q8_0/q4_0
// (gemm_quant.h); x may have leading dims ([..., K]),
// y is then [..., N]. Validates, prepares the activation operand (bf16-rounded copy for
// MatmulPrecision::bf16, plus a packed bf16 copy when the vdpbf16ps kernel is used) and runs gemm.h.
#include <vector>

#include "kernels/cpu/convert_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_quant.h"
#include "kernels/quant.h"

namespace janus::cpu {

void CpuBackend::matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                        MatmulPrecision precision, bool accumulate) {
    const char* op = "matmul";
    check_f32(op, "y", y);
    check_f32(op, "x", x);
    if (!dtype_is_quantized(w.dtype())) check_float(op, "w", w);
    if (w.ndim() != 2) fail(op, "w is " + w.str() + " but must be a 2-D weight [N, K]");
    int64_t N = w.dim(0), K = w.dim(1);
    if (x.ndim() < 1 || x.dim(-1) != K)
        fail(op, "x is " + x.str() + " but w is " + w.str() + ": x's last dim must equal K = " + std::to_string(K));
    int64_t M = K ? x.numel() / K : 0;
    if (y.ndim() < 1 || y.dim(-1) != N || y.numel() != M * N)
        fail(op, "y is " + y.str() + " but must hold [" + std::to_string(M) + ", " + std::to_string(N) +
                     "] for x " + x.shape().str() + " and w " + w.shape().str());
    std::vector<float> bias_f32;
    if (bias.defined()) {
        check_float(op, "bias", bias);
        check_numel(op, "bias", bias, N);
        bias_f32 = param_f32(bias, N, 0.0f);
    }
    if (y.data() == x.data() && M * N > 0) fail(op, "y must not alias x (use a separate output tensor)");
    if (M == 0 || N == 0) return;
    if (K == 0) {
        float* py = y.ptr<float>();
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++)
                py[m * N + n] = (accumulate ? py[m * N + n] : 0.0f) + (bias_f32.empty() ? 0.0f : bias_f32[size_t(n)]);
        return;
    }

    if (dtype_is_quantized(w.dtype())) {
        // q8_0 / q4_0 weights: activations quantized per group of 32 (gemm_quant.h); `precision` does
        // not apply (the int8 codes are coarser than bf16).
        if (K % kQuantGroup) fail(op, "w is " + w.str() + ": quantized weights need K % 32 == 0");
        QuantizedRows qa;
        quantize_activations(pool_, x.ptr<float>(), M, K, w.dtype(), &qa);
        QuantGemm g;
        g.a = &qa;
        g.w = static_cast<const uint8_t*>(w.data());
        g.wtype = w.dtype();
        g.N = N;
        g.c = y.ptr<float>();
        g.bias = bias_f32.empty() ? nullptr : bias_f32.data();
        g.accumulate = accumulate;
        gemm_quant(pool_, g);
        return;
    }

    GemmProblem p;
    p.M = M;
    p.N = N;
    p.K = K;
    p.a = x.ptr<float>();
    p.lda = K;
    p.b = w.data();
    p.btype = w.dtype();
    p.ldb = K;
    p.c = y.ptr<float>();
    p.ldc = N;
    p.bias = bias_f32.empty() ? nullptr : bias_f32.data();
    p.accumulate = accumulate;

    std::vector<float> a_rounded;
    std::vector<uint16_t> a_bf16;
    GemmKernel kernel = nullptr;
    if (precision == MatmulPrecision::bf16) {
        kernel = gemm_kernel(w.dtype(), /*bf16_dot=*/true);
        if (kernel) {
            // The bf16 dot kernel pairs K elements; pad rows to an even length with zeros.
            int64_t ld = (K + 31) / 32 * 32;
            a_bf16.assign(size_t(M * ld), 0);
            const float* px = x.ptr<float>();
            auto cvt = convert_kernels().f32_to_bf16;
            pool_.parallel_for(M, 1, [&](int64_t b, int64_t e) {
                for (int64_t m = b; m < e; m++) cvt(px + m * K, a_bf16.data() + m * ld, K);
            });
            p.a_bf16 = a_bf16.data();
            p.lda_bf16 = ld;
        } else {
            a_rounded.resize(size_t(M * K));
            const float* px = x.ptr<float>();
            auto rnd = convert_kernels().round_bf16;
            pool_.parallel_for(M * K, 1 << 14, [&](int64_t b, int64_t e) { rnd(px + b, a_rounded.data() + b, e - b); });
            p.a = a_rounded.data();
        }
    }
    if (!kernel) kernel = gemm_kernel(w.dtype(), false);
    gemm(pool_, p, kernel);
}

}  // namespace janus::cpu
