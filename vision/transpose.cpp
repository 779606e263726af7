// Transposer: y[B, A] = x[A, B]ᵀ via Backend::embedding with D = 1 (see transpose.h).
#include "vision/transpose.h"

#include <vector>

#include "janus/error.h"

namespace janus::vision {

void Transposer::transpose(const Tensor& y, const Tensor& x) {
    if (x.ndim() != 2 || y.ndim() != 2 || y.dim(0) != x.dim(1) || y.dim(1) != x.dim(0))
        throw Error("transpose: shapes " + x.shape().str() + " → " + y.shape().str() + " do not match");
    const int64_t A = x.dim(0), B = x.dim(1);
    if (A * B > INT32_MAX) throw Error("transpose: tensor too large for i32 indices");
    auto key = std::make_pair(A, B);
    auto it = perms_.find(key);
    if (it == perms_.end()) {
        std::vector<int32_t> idx(static_cast<size_t>(A * B));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t a = 0; a < A; ++a) idx[size_t(b * A + a)] = int32_t(a * B + b);
        it = perms_.emplace(key, backend_->upload(Tensor::from_i32(idx, {A * B}))).first;
    }
    backend_->embedding(y.reshape({A * B, 1}), x.reshape({A * B, 1}), it->second);
}

}  // namespace janus::vision
