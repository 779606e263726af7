// Shared test helpers: the tolerance metrics every test states its bounds in, and golden .npy files
// read through the library's own janus::read_npy (no test-local readers).
//   max_rel_error(got, want) = max|got − want| / max|want|   (absolute error when want is all zero)
//   rms_rel_error(got, want) = sqrt(Σ(got − want)² / Σ want²)
// Both return +inf when the sizes differ or got holds a NaN, so a shape mistake can never pass.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "janus/npy.h"

namespace janus::testing {

template <class A, class B>
double max_rel_error(const std::vector<A>& got, const std::vector<B>& want) {
    if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double g = double(got[i]), w = double(want[i]);
        if (std::isnan(g) != std::isnan(w)) return std::numeric_limits<double>::infinity();
        num = std::max(num, std::fabs(g - w));
        den = std::max(den, std::fabs(w));
    }
    return den > 0 ? num / den : num;
}

template <class A, class B>
double rms_rel_error(const std::vector<A>& got, const std::vector<B>& want) {
    if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double g = double(got[i]), w = double(want[i]);
        if (std::isnan(g)) return std::numeric_limits<double>::infinity();
        num += (g - w) * (g - w);
        den += w * w;
    }
    return std::sqrt(num / std::max(den, 1e-300));
}

// A golden array as doubles (float arrays exactly, integer arrays exactly up to 2^53), with its shape.
inline std::vector<double> read_npy_f64(const std::string& path, std::vector<int64_t>* shape = nullptr) {
    const Npy a = read_npy(path);
    if (shape) *shape = a.shape;
    std::vector<double> out;
    if (a.descr == "<f8") {
        out.resize(size_t(a.numel()));
        std::memcpy(out.data(), a.bytes.data(), out.size() * sizeof(double));
    } else if (a.descr[1] == 'f') {
        const std::vector<float> f = a.to_f32();
        out.assign(f.begin(), f.end());
    } else {
        const std::vector<int64_t> i = a.to_i64();
        out.assign(i.begin(), i.end());
    }
    return out;
}

}  // namespace janus::testing
