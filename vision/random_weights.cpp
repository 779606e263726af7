// Deterministic random weights for synthetic benchmarks (see random_weights.h).
#include "vision/random_weights.h"

#include <cmath>

namespace janus::vision {

namespace {
uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
}  // namespace

Tensor random_normal(Backend& be, const Shape& shape, float stddev, uint64_t seed, DType dtype) {
    Tensor h = Tensor::empty(DType::f32, shape);
    float* p = h.ptr<float>();
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + 1;
    const int64_t n = h.numel();
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = (double(splitmix(s) >> 11) + 1.0) * 0x1.0p-53, u2 = double(splitmix(s) >> 11) * 0x1.0p-53;
        double r = std::sqrt(-2.0 * std::log(u1));
        p[i] = float(r * std::cos(2 * M_PI * u2) * stddev);
        if (i + 1 < n) p[i + 1] = float(r * std::sin(2 * M_PI * u2) * stddev);
    }
    Tensor f = be.upload(h);
    if (dtype == DType::f32) return f;
    Tensor w = be.alloc(dtype, shape);
    be.convert(w, f);
    return w;
}

Tensor constant(Backend& be, const Shape& shape, float value) {
    Tensor h = Tensor::empty(DType::f32, shape);
    for (int64_t i = 0; i < h.numel(); ++i) h.ptr<float>()[i] = value;
    return be.upload(h);
}

}  // namespace janus::vision
