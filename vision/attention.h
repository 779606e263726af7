// Full (non-causal) multi-head attention for the vision encoders, built from GEMMs:
//   per head h: S = (Q_h · K_hᵀ) · scale [T, T];  softmax over rows;  O_h = S · V_h [T, Dh]
// with q/k/v/out [T, H, Dh] f32 token-major (as Backend::attention takes them). Heads are gathered
// to head-major [H, T, Dh] (and V to [H, Dh, T]) with Backend::embedding row gathers, so every step is a
// Backend op and it runs on any backend. Same maths and order as the reference's eager attention
// (matmul, scale, f32 softmax, matmul). Used because at T = 576 the GEMM path is several times faster
// than the op table's general attention kernel on the CPU (see BENCHMARKS.md, Vision).
// Workspace: q/k/v/o head-major copies (4·T·H·Dh) + one [T, T] score matrix.
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
