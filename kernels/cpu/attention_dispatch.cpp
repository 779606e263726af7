// Chooses the attention row kernel for this CPU (scalar until SIMD kernels land).
#include "kernels/cpu/attention_kernels.h"
namespace janus::cpu {
AttentionRowFn attention_row_kernel() { return attention_row_scalar_kernel(); }
}  // namespace janus::cpu
