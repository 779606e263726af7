// GemmAttention: full attention — Backend::attention on the CPU, per-head GEMM + softmax + GEMM
// elsewhere (see attention.h).
#include "vision/attention.h"

#include <vector>

#include "janus/error.h"

namespace janus::vision {

namespace {
enum Kind { kToHeads = 0, kToHeadsTransposed = 1, kFromHeads = 2 };
}

// Index tensors for Backend::embedding gathers:
//   kToHeads:  rows of [T·H, Dh] → [H·T, Dh], out row h·T + t = in row t·H + h
//   kFromHeads: the inverse, out row t·H + h = in row h·T + t
//   kToHeadsTransposed: elements of [T, H, Dh] → [H, Dh, T] (row width 1)
const Tensor& GemmAttention::perm(int kind, int64_t T, int64_t H, int64_t Dh) {
    auto key = std::make_tuple(kind, T, H, Dh);
    auto it = perms_.find(key);
    if (it != perms_.end()) return it->second;
    std::vector<int32_t> idx;
    if (kind == kToHeads || kind == kFromHeads) {
        idx.resize(size_t(T * H));
        for (int64_t h = 0; h < H; ++h)
            for (int64_t t = 0; t < T; ++t) {
                if (kind == kToHeads) idx[size_t(h * T + t)] = int32_t(t * H + h);
                else idx[size_t(t * H + h)] = int32_t(h * T + t);
            }
    } else {
        idx.resize(size_t(T * H * Dh));
        for (int64_t h = 0; h < H; ++h)
            for (int64_t d = 0; d < Dh; ++d)
                for (int64_t t = 0; t < T; ++t) idx[size_t((h * Dh + d) * T + t)] = int32_t((t * H + h) * Dh + d);
    }
    Tensor t = be_->upload(Tensor::from_i32(idx, {int64_t(idx.size())}));
    return perms_.emplace(key, t).first->second;
}

Tensor GemmAttention::ws(const std::string& name, const Shape& shape) {
    Tensor& t = work_[name];
    if (!t.defined() || !(t.shape() == shape)) t = be_->alloc(DType::f32, shape);
    return t;
}

void GemmAttention::forward(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, float scale) {
    Backend& be = *be_;
    if (q.ndim() != 3 || !(k.shape() == q.shape()) || !(v.shape() == q.shape()) || !(out.shape() == q.shape()))
        throw Error("GemmAttention: q, k, v and out must all be [T, H, Dh], got " + q.shape().str() + ", " +
                    k.shape().str() + ", " + v.shape().str() + ", " + out.shape().str());
    if (be.device().kind == DeviceKind::cpu) {  // the CPU's fused tiled kernel (see attention.h)
        be.attention(out, q, k, v, scale, -1);
        return;
    }
    const int64_t T = q.dim(0), H = q.dim(1), Dh = q.dim(2);
    Tensor qh = q, kh = k;
    if (H > 1) {
        qh = ws("qh", {H, T, Dh});
        kh = ws("kh", {H, T, Dh});
        be.embedding(qh.reshape({H * T, Dh}), q.reshape({T * H, Dh}), perm(kToHeads, T, H, Dh));
        be.embedding(kh.reshape({H * T, Dh}), k.reshape({T * H, Dh}), perm(kToHeads, T, H, Dh));
    }
    Tensor vt = ws("vt", {H, Dh, T});
    be.embedding(vt.reshape({H * Dh * T, 1}), v.reshape({T * H * Dh, 1}), perm(kToHeadsTransposed, T, H, Dh));
    Tensor oh = H > 1 ? ws("oh", {H, T, Dh}) : out.reshape({1, T, Dh});
    Tensor s = ws("scores", {T, T});
    for (int64_t h = 0; h < H; ++h) {
        Tensor qs = qh.reshape({H, T, Dh}).row(h), ks = kh.reshape({H, T, Dh}).row(h);
        be.matmul(s, qs, ks, Tensor());  // S = Q_h · K_hᵀ
        be.scale(s, s, scale);
        be.softmax(s);
        be.matmul(oh.row(h), s, vt.row(h), Tensor());  // O_h = P · V_h
    }
    if (H > 1) be.embedding(out.reshape({T * H, Dh}), oh.reshape({H * T, Dh}), perm(kFromHeads, T, H, Dh));
}

}  // namespace janus::vision
