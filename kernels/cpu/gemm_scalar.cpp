// Portable scalar GEMM kernel (fallback when the CPU has no AVX2): for each weight row n in [n0, n1)
// convert it to f32 once, then dot it with every row of A. Eight interleaved partial sums (k mod 8)
// let the compiler use SSE and hide add latency; they are combined in a fixed order, so the result
// does not depend on the thread partition. C[M, N] (=|+=) A[M, K] · B[N, K]ᵀ (+ bias).
#include <vector>

#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/gemm.h"

namespace janus::cpu {

namespace {
void kernel_scalar(const GemmProblem& p, int64_t n0, int64_t n1) {
    std::vector<float> row(size_t(p.K));
    for (int64_t n = n0; n < n1; n++) {
        load_f32(p.b, p.btype, n * p.ldb, p.K, row.data());
        float bias = p.bias ? p.bias[n] : 0.0f;
        for (int64_t m = 0; m < p.M; m++) {
            const float* a = p.a + m * p.lda;
            const float* r = row.data();
            float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t k = 0;
            for (; k + 8 <= p.K; k += 8)
                for (int l = 0; l < 8; l++) part[l] += a[k + l] * r[k + l];
            for (; k < p.K; k++) part[k & 7] += a[k] * r[k];
            float acc = ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
            float* c = p.c + m * p.ldc + n;
            *c = (p.accumulate ? *c : 0.0f) + (acc + bias);
        }
    }
}
}  // namespace

GemmKernel gemm_kernel_scalar(DType) { return kernel_scalar; }

}  // namespace janus::cpu
