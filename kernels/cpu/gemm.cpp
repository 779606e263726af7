// GEMM dispatch and threading (see gemm.h): picks the best kernel for the CPU (cpu_features.h) and
// partitions N into chunks over the thread pool; f32/bf16 weights with >= 32 rows on AVX-512 go to the
// packed kernel (gemm_packed_avx512.cpp).
#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu/cpu_features.h"

namespace janus::cpu {

GemmKernel gemm_kernel(DType btype, bool bf16_dot) {
    IsaLevel isa = best_isa();
    if (bf16_dot) {
        if (btype == DType::bf16 && isa >= IsaLevel::avx512bf16) return gemm_kernel_avx512_bf16dot();
        return nullptr;
    }
    GemmKernel k = nullptr;
    if (isa >= IsaLevel::avx512) k = gemm_kernel_avx512(btype);
    if (!k && isa >= IsaLevel::avx2) k = gemm_kernel_avx2(btype);
    if (!k) k = gemm_kernel_scalar(btype);
    return k;
}

bool have_bf16_dot() { return gemm_kernel(DType::bf16, true) != nullptr; }

namespace {
bool packed_enabled() {
    static const bool on = [] {
        const char* e = std::getenv("JANUS_GEMM_PACKED");
        return !(e && std::strcmp(e, "0") == 0);
    }();
    return on;
}
}  // namespace

void gemm(ThreadPool& pool, const GemmProblem& p, GemmKernel kernel) {
    if (p.M <= 0 || p.N <= 0) return;
    if (p.M >= 32 && (p.btype == DType::f32 || p.btype == DType::bf16) && p.a && p.lda < (int64_t(1) << 26) &&
        kernel == gemm_kernel_avx512(p.btype) && packed_enabled()) {  // (lda: int32 gather offsets)
        gemm_f32_packed_avx512(pool, p);
        return;
    }
    // Chunk of weight rows per task: enough work to amortise scheduling, enough chunks to balance.
    int64_t work_per_row = std::max<int64_t>(1, p.M * p.K);
    int64_t grain = std::max<int64_t>(16, (int64_t(1) << 18) / work_per_row);
    int64_t chunks_wanted = int64_t(pool.size()) * 8;
    grain = std::min(grain, std::max<int64_t>(16, (p.N + chunks_wanted - 1) / chunks_wanted));
    grain = (grain + 15) / 16 * 16;
    pool.parallel_for(p.N, grain, [&](int64_t n0, int64_t n1) { kernel(p, n0, n1); });
}

}  // namespace janus::cpu
