// GemmAttention (vision/attention.h) and Transposer (vision/transpose.h) against float64 scalar
// references. Tolerance: max|Δ| / max|ref| ≤ 1e-5 (f32 GEMMs over ≤ 64-long dot products).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "janus/error.h"
#include "kernels/backend.h"
#include "vision/attention.h"
#include "vision/transpose.h"

using namespace janus;

namespace {
std::vector<float> randv(size_t n, uint32_t seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0, 1);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}
}  // namespace

TEST(GemmAttention, MatchesFloat64) {
    for (auto [T, H, Dh] : {std::tuple{7, 3, 5}, {33, 4, 16}, {20, 1, 40}}) {
        const size_t n = size_t(T) * H * Dh;
        std::vector<float> q = randv(n, 1), k = randv(n, 2), v = randv(n, 3);
        const float scale = 1.0f / std::sqrt(float(Dh));
        Tensor out = Tensor::empty(DType::f32, {T, H, Dh});
        vision::GemmAttention att(cpu_backend());
        att.forward(out, Tensor::from_f32(q, {T, H, Dh}), Tensor::from_f32(k, {T, H, Dh}), Tensor::from_f32(v, {T, H, Dh}), scale);
        double mx = 0, ref = 0;
        for (int h = 0; h < H; ++h)
            for (int i = 0; i < T; ++i) {
                std::vector<double> s(static_cast<size_t>(T));
                double m = -INFINITY, z = 0;
                for (int j = 0; j < T; ++j) {
                    double d = 0;
                    for (int e = 0; e < Dh; ++e) d += double(q[(size_t(i) * H + h) * Dh + e]) * k[(size_t(j) * H + h) * Dh + e];
                    s[size_t(j)] = d * scale;
                    m = std::max(m, s[size_t(j)]);
                }
                for (auto& x : s) z += (x = std::exp(x - m));
                for (int e = 0; e < Dh; ++e) {
                    double o = 0;
                    for (int j = 0; j < T; ++j) o += s[size_t(j)] / z * v[(size_t(j) * H + h) * Dh + e];
                    mx = std::max(mx, std::fabs(o - out.ptr<float>()[(size_t(i) * H + h) * Dh + e]));
                    ref = std::max(ref, std::fabs(o));
                }
            }
        EXPECT_LE(mx / ref, 1e-5) << "T=" << T << " H=" << H << " Dh=" << Dh;
    }
}

TEST(Transposer, Exact) {
    std::vector<float> x = randv(6 * 11, 4);
    Tensor y = Tensor::empty(DType::f32, {11, 6});
    vision::Transposer t(cpu_backend());
    t.transpose(y, Tensor::from_f32(x, {6, 11}));
    for (int a = 0; a < 6; ++a)
        for (int b = 0; b < 11; ++b) ASSERT_EQ(y.ptr<float>()[b * 6 + a], x[size_t(a) * 11 + b]);
    EXPECT_THROW(t.transpose(y, Tensor::from_f32(x, {11, 6})), Error);
}
