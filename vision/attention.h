// Full (non-causal) multi-head attention for the vision encoders, q/k/v/out [T, H, Dh] f32
// token-major (as Backend::attention takes them).
// - CPU backend: Backend::attention itself — its tiled flash kernel (online softmax over key blocks,
//   kernels/cpu/attention_flash_*.cpp) is 2–4× faster than the GEMM path below at T = 576 (see
//   BENCHMARKS.md, Vision) and needs no T×T score matrix.
// - Other backends: built from GEMMs, per head h: S = (Q_h · K_hᵀ) · scale [T, T]; softmax over rows;
//   O_h = S · V_h [T, Dh]. Heads are gathered to head-major [H, T, Dh] (and V to [H, Dh, T]) with
//   Backend::embedding row gathers, so every step is a Backend op. Same maths and order as the
//   reference's eager attention (matmul, scale, f32 softmax, matmul).
//   Workspace: q/k/v/o head-major copies (4·T·H·Dh) + one [T, T] score matrix.
#pragma once
#include <map>
#include <string>

#include "kernels/backend.h"

namespace janus::vision {

class GemmAttention {
public:
    explicit GemmAttention(Backend& backend) : be_(&backend) {}
    void forward(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, float scale);

private:
    const Tensor& perm(int kind, int64_t T, int64_t H, int64_t Dh);
    Tensor ws(const std::string& name, const Shape& shape);
    Backend* be_;
    std::map<std::tuple<int, int64_t, int64_t, int64_t>, Tensor> perms_;
    std::map<std::string, Tensor> work_;
};

}  // namespace janus::vision
