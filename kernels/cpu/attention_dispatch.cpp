// Chooses the attention kernel for this CPU: the AVX-512 key-major group kernel, else the AVX2+FMA
// row kernel, else the scalar one; the split-key kernels for decode rows (AVX-512, else AVX2); the tiled flash kernel for long non-causal problems
// (AVX-512, else AVX2).
#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/cpu_features.h"

namespace janus::cpu {

AttentionRowFn attention_row_kernel(DType ktype, DType vtype) {
    if (best_isa() >= IsaLevel::avx2)
        if (AttentionRowFn fn = attention_row_kernel_avx2(ktype, vtype)) return fn;
    return attention_row_scalar_kernel();
}

AttentionGroupFn attention_group_kernel(DType ktype, DType vtype) {
    if (best_isa() >= IsaLevel::avx512) return attention_group_kernel_avx512(ktype, vtype);
    return nullptr;
}

AttentionDecodeFns attention_decode_kernels(DType ktype, DType vtype, int64_t Dh) {
    if (best_isa() >= IsaLevel::avx512) return attention_decode_kernels_avx512(ktype, vtype, Dh);
    if (best_isa() >= IsaLevel::avx2) return attention_decode_kernels_avx2(ktype, vtype);
    return {};
}

AttentionFlashFn attention_flash_kernel() {
    if (best_isa() >= IsaLevel::avx512) return attention_flash_kernel_avx512();
    if (best_isa() >= IsaLevel::avx2) return attention_flash_kernel_avx2();
    return nullptr;
}

}  // namespace janus::cpu
