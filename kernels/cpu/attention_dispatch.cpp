// Chooses the attention row kernel for this CPU: AVX-512, else AVX2+FMA, else scalar.
#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/cpu_features.h"

namespace janus::cpu {

AttentionRowFn attention_row_kernel(DType ktype, DType vtype) {
    if (best_isa() >= IsaLevel::avx512)
        if (AttentionRowFn fn = attention_row_kernel_avx512(ktype, vtype)) return fn;
    if (best_isa() >= IsaLevel::avx2)
        if (AttentionRowFn fn = attention_row_kernel_avx2(ktype, vtype)) return fn;
    return attention_row_scalar_kernel();
}

}  // namespace janus::cpu
