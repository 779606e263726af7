// Chooses the attention row kernel for this CPU: AVX-512 when present, else the scalar one.
#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/cpu_features.h"

namespace janus::cpu {

AttentionRowFn attention_row_kernel(DType ktype, DType vtype) {
    if (best_isa() >= IsaLevel::avx512)
        if (AttentionRowFn fn = attention_row_kernel_avx512(ktype, vtype)) return fn;
    return attention_row_scalar_kernel();
}

}  // namespace janus::cpu
