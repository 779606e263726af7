// Backend::attention's shape rules (see attention_shapes.h), checked once for the CPU and CUDA backends.
#include "kernels/attention_shapes.h"

namespace janus {

namespace {
std::string same_shape_error(const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
    if (a.shape() == b.shape()) return {};
    return std::string(a_name) + " " + a.shape().str() + " and " + b_name + " " + b.shape().str() +
           " must have the same shape";
}
}  // namespace

std::string attention_shape_error(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v,
                                  int64_t causal_start) {
    if (q.ndim() != 3) return "q is " + q.str() + " but must be [Tq, H, Dh]";
    if (k.ndim() != 3) return "k is " + k.str() + " but must be [Tk, Hkv, Dh]";
    if (std::string e = same_shape_error("out", out, "q", q); !e.empty()) return e;
    if (std::string e = same_shape_error("v", v, "k", k); !e.empty()) return e;
    const int64_t Tq = q.dim(0), H = q.dim(1), Dh = q.dim(2), Tk = k.dim(0), Hkv = k.dim(1);
    if (k.dim(2) != Dh) return "k head dim " + std::to_string(k.dim(2)) + " != q head dim " + std::to_string(Dh);
    if (Hkv <= 0 || H % Hkv != 0)
        return "q heads " + std::to_string(H) + " must be a multiple of kv heads " + std::to_string(Hkv);
    if (causal_start >= 0 && Tk < causal_start + Tq)
        return "causal attention needs Tk >= causal_start + Tq, got Tk = " + std::to_string(Tk) +
               ", causal_start = " + std::to_string(causal_start) + ", Tq = " + std::to_string(Tq) +
               " (append the new keys to the cache first)";
    if (out.data() == q.data() && out.numel() > 0) return "out must not alias q";
    if (Tk == 0) return "k/v hold no keys (Tk = 0)";
    return {};
}

}  // namespace janus
