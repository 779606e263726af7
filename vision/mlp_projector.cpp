// MlpProjector: Linear → exact GELU → Linear over rows (see mlp_projector.h).
#include "vision/mlp_projector.h"

#include "janus/error.h"
#include "vision/random_weights.h"

namespace janus::vision {

MlpProjector MlpProjector::load(const WeightSource& ws, const std::string& prefix) {
    MlpProjector p;
    std::string l1 = prefix + ".layers.0.", l2 = prefix + ".layers.2.";
    if (prefix == "gen_head") {
        l1 = "gen_head.output_mlp_projector.";
        l2 = "gen_head.vision_head.";
    }
    p.w1_ = ws.require(l1 + "weight");
    if (p.w1_.ndim() != 2) throw Error(ws.source() + ": " + l1 + "weight must be 2-D, got " + p.w1_.shape().str());
    int64_t hid = p.w1_.dim(0);
    p.b1_ = ws.require(l1 + "bias", {hid});
    p.w2_ = ws.require(l2 + "weight");
    if (p.w2_.ndim() != 2 || p.w2_.dim(1) != hid)
        throw Error(ws.source() + ": " + l2 + "weight is " + p.w2_.shape().str() + ", expected [*, " +
                    std::to_string(hid) + "]");
    p.b2_ = ws.require(l2 + "bias", {p.w2_.dim(0)});
    return p;
}

MlpProjector MlpProjector::random(Backend& be, int in, int hidden, int out, uint64_t seed) {
    MlpProjector p;
    p.w1_ = random_normal(be, {hidden, in}, 0.02f, seed);
    p.b1_ = constant(be, {hidden}, 0.0f);
    p.w2_ = random_normal(be, {out, hidden}, 0.02f, seed + 1);
    p.b2_ = constant(be, {out}, 0.0f);
    return p;
}

void MlpProjector::forward(Backend& be, const Tensor& y, const Tensor& x, Tensor tmp) const {
    const int64_t M = x.dim(0);
    if (x.ndim() != 2 || x.dim(1) != in_dim() || y.ndim() != 2 || y.dim(0) != M || y.dim(1) != out_dim())
        throw Error("MlpProjector: x " + x.shape().str() + " / y " + y.shape().str() + " do not match [M, " +
                    std::to_string(in_dim()) + "] → [M, " + std::to_string(out_dim()) + "]");
    if (!tmp.defined()) tmp = be.alloc(DType::f32, {M, hidden_dim()});
    be.matmul(tmp, x, w1_, b1_);
    be.gelu(tmp, tmp);
    be.matmul(y, tmp, w2_, b2_);
}

}  // namespace janus::vision
