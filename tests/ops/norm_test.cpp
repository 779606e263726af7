// Op table cases: rms_norm (with/without bf16 rounding of the normalised x), layer_norm, group_norm
// (with/without swish), rope (a position per row, with/without bf16 cos/sin) and softmax, against
// float64 references. Tolerances: 1e-5 relative + 1e-6 absolute (f32 arithmetic on O(1) values);
// where the op rounds to bf16, an element whose f32 intermediate sits at a bf16 rounding tie may
// land one bf16 step away (<= 2% of elements, within 8e-3 relative). Group norm at the VQ decoder's
// real sizes with an offset mean and a 2^20-long softmax row check that row statistics do not lose
// accuracy with length (the CPU and CUDA backends both accumulate them in double).
#include "op_test.h"

namespace optest {
namespace {

void rms_norm_case(Backend& be, int M, int D, DType wt, bool round) {
    std::vector<float> x = uniform(size_t(M) * D, 21 + D, -3, 3), w = uniform(size_t(D), 22 + D, 0.5f, 1.5f);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {M, D}, x));
    Tensor tw = to_backend(be, host_tensor(wt, {D}, w));
    Tensor ty = alloc_on(be, DType::f32, {M, D});
    const float eps = 1e-6f;
    be.rms_norm(ty, tx, tw, eps, round);
    std::vector<double> ref(size_t(M) * D);
    for (int m = 0; m < M; m++) {
        double ss = 0;
        for (int d = 0; d < D; d++) ss += double(x[size_t(m) * D + d]) * x[size_t(m) * D + d];
        double inv = 1.0 / std::sqrt(ss / D + eps);
        for (int d = 0; d < D; d++) {
            double v = x[size_t(m) * D + d] * inv;
            if (round) v = ref_round_bf16(float(v));
            ref[size_t(m) * D + d] = v * w[d];
        }
    }
    Tol tol{1e-6, 1e-5};
    if (round) tol.loose_frac = 0.02, tol.loose_rtol = 8e-3;
    expect_close(fetch(be, ty), ref, tol, "rms_norm");
}
OP_CASE("rms_norm_D64_wf32", [](Backend& be) { rms_norm_case(be, 5, 64, DType::f32, false); });
OP_CASE("rms_norm_D2048_wbf16", [](Backend& be) { rms_norm_case(be, 3, 2048, DType::bf16, false); });
OP_CASE("rms_norm_D2048_wbf16_round", [](Backend& be) { rms_norm_case(be, 4, 2048, DType::bf16, true); });
OP_CASE("rms_norm_D33_wf16_round", [](Backend& be) { rms_norm_case(be, 2, 33, DType::f16, true); });

void layer_norm_case(Backend& be, int M, int D, DType wt, bool with_bias) {
    std::vector<float> x = uniform(size_t(M) * D, 31 + D, -2, 4), w = uniform(size_t(D), 32, 0.5f, 1.5f),
                       b = uniform(size_t(D), 33);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {M, D}, x));
    Tensor tw = to_backend(be, host_tensor(wt, {D}, w));
    Tensor tb = with_bias ? to_backend(be, host_tensor(wt, {D}, b)) : Tensor();
    Tensor ty = alloc_on(be, DType::f32, {M, D});
    const float eps = 1e-6f;
    be.layer_norm(ty, tx, tw, tb, eps);
    std::vector<double> ref(size_t(M) * D);
    for (int m = 0; m < M; m++) {
        const float* r = x.data() + size_t(m) * D;
        double mean = 0, var = 0;
        for (int d = 0; d < D; d++) mean += r[d];
        mean /= D;
        for (int d = 0; d < D; d++) var += (r[d] - mean) * (r[d] - mean);
        var /= D;
        for (int d = 0; d < D; d++)
            ref[size_t(m) * D + d] = (r[d] - mean) / std::sqrt(var + eps) * w[d] + (with_bias ? b[d] : 0.0);
    }
    expect_close(fetch(be, ty), ref, Tol{1e-5, 1e-5}, "layer_norm");
}
OP_CASE("layer_norm_D64", [](Backend& be) { layer_norm_case(be, 4, 64, DType::f32, true); });
OP_CASE("layer_norm_D1152_bf16", [](Backend& be) { layer_norm_case(be, 3, 1152, DType::bf16, true); });
OP_CASE("layer_norm_D31_nobias", [](Backend& be) { layer_norm_case(be, 2, 31, DType::f32, false); });

void group_norm_case(Backend& be, int N, int C, int H, int W, int groups, bool swish, DType wt) {
    std::vector<float> x = uniform(size_t(N) * C * H * W, 41 + C, -2, 3), w = uniform(size_t(C), 42, 0.5f, 1.5f),
                       b = uniform(size_t(C), 43);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {N, C, H, W}, x));
    Tensor tw = to_backend(be, host_tensor(wt, {C}, w)), tb = to_backend(be, host_tensor(wt, {C}, b));
    Tensor ty = alloc_on(be, DType::f32, {N, C, H, W});
    const float eps = 1e-6f;
    be.group_norm(ty, tx, tw, tb, groups, eps, swish);
    std::vector<double> ref(x.size());
    const int cpg = C / groups, HW = H * W;
    for (int n = 0; n < N; n++)
        for (int g = 0; g < groups; g++) {
            size_t base = (size_t(n) * C + size_t(g) * cpg) * HW;
            double mean = 0, var = 0;
            for (int i = 0; i < cpg * HW; i++) mean += x[base + i];
            mean /= cpg * HW;
            for (int i = 0; i < cpg * HW; i++) var += (x[base + i] - mean) * (x[base + i] - mean);
            var /= cpg * HW;
            for (int c = 0; c < cpg; c++)
                for (int i = 0; i < HW; i++) {
                    size_t at = base + size_t(c) * HW + i;
                    double o = (x[at] - mean) / std::sqrt(var + eps) * w[g * cpg + c] + b[g * cpg + c];
                    if (swish) o = o / (1 + std::exp(-o));
                    ref[at] = o;
                }
        }
    expect_close(fetch(be, ty), ref, Tol{1e-5, 1e-5}, "group_norm");
}
OP_CASE("group_norm_G32_C64", [](Backend& be) { group_norm_case(be, 2, 64, 5, 6, 32, false, DType::f32); });
OP_CASE("group_norm_G32_C64_swish", [](Backend& be) { group_norm_case(be, 1, 64, 7, 7, 32, true, DType::bf16); });
OP_CASE("group_norm_G1_swish", [](Backend& be) { group_norm_case(be, 2, 6, 3, 4, 1, true, DType::f32); });

void rope_case(Backend& be, int M, int H, int Dh, bool round, int max_pos) {
    std::vector<float> x = uniform(size_t(M) * H * Dh, 51 + Dh, -2, 2);
    std::vector<int32_t> pos(static_cast<size_t>(M));
    std::mt19937 rng(52);
    for (auto& p : pos) p = int32_t(rng() % uint32_t(max_pos));
    pos[0] = 0;
    int half = Dh / 2;
    std::vector<float> inv(static_cast<size_t>(half));
    for (int j = 0; j < half; j++) inv[j] = float(1.0 / std::pow(10000.0, 2.0 * j / Dh));
    Tensor tx = to_backend(be, host_tensor(DType::f32, {M, H, Dh}, x));
    Tensor tp = to_backend(be, host_i32({M}, pos));
    Tensor tf = to_backend(be, host_tensor(DType::f32, {half}, inv));
    be.rope(tx, tp, tf, round);
    std::vector<double> ref(x.size()), mag(x.size());
    for (int m = 0; m < M; m++)
        for (int j = 0; j < half; j++) {
            float ang = float(pos[m]) * inv[j];  // the angle is an f32 product (as in HF)
            double c = std::cos(double(ang)), s = std::sin(double(ang));
            if (round) c = ref_round_bf16(float(c)), s = ref_round_bf16(float(s));
            for (int h = 0; h < H; h++) {
                size_t at = (size_t(m) * H + h) * Dh;
                double x1 = x[at + j], x2 = x[at + j + half];
                ref[at + j] = x1 * c - x2 * s;
                ref[at + j + half] = x2 * c + x1 * s;
                mag[at + j] = mag[at + j + half] = std::fabs(x1) + std::fabs(x2);
            }
        }
    Tol tol{2e-6, 1e-5};
    if (round) tol.loose_frac = 0.02, tol.loose_rtol = 8e-3;
    expect_close(fetch(be, tx), ref, tol, "rope", mag);
}
OP_CASE("rope_Dh64", [](Backend& be) { rope_case(be, 6, 4, 64, false, 4096); });
OP_CASE("rope_Dh128_bf16", [](Backend& be) { rope_case(be, 9, 3, 128, true, 4096); });
OP_CASE("rope_Dh16_single_row", [](Backend& be) { rope_case(be, 1, 2, 16, false, 10); });

// The VQ decoder's group norms (facts: 32 groups; 128 channels at 384x384 = 589,824 values per group,
// 256 at 192x192) with an offset mean, where a sum whose error grows with the group size shows. The
// reference follows the op's definition — exact mean and variance, then the f32 values the op uses:
// meanf = f32(mean), inv = f32(1/sqrt(var + eps)), per-channel scale f32(w·inv) — so the tolerance can
// be a few f32 roundings of the output: a mean one f32 ulp off (what per-thread f32 partial sums
// give at this size) moves every output by ulp(offset)/std, ~13x the bound.
void group_norm_vq_case(Backend& be, int N, int C, int HW1, float offset, bool swish) {
    const int groups = 32, cpg = C / groups, HW = HW1 * HW1;
    std::vector<float> x = uniform(size_t(N) * C * HW, 45 + C, offset - 1, offset + 1),
                       w = uniform(size_t(C), 46, 0.5f, 1.5f), b = uniform(size_t(C), 47);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {N, C, HW1, HW1}, x));
    Tensor tw = to_backend(be, host_tensor(DType::f32, {C}, w)), tb = to_backend(be, host_tensor(DType::f32, {C}, b));
    Tensor ty = alloc_on(be, DType::f32, {N, C, HW1, HW1});
    const float eps = 1e-6f;
    be.group_norm(ty, tx, tw, tb, groups, eps, swish);
    std::vector<double> ref(x.size());
    const size_t cnt = size_t(cpg) * HW;
    for (int n = 0; n < N; n++)
        for (int g = 0; g < groups; g++) {
            const size_t base = (size_t(n) * C + size_t(g) * cpg) * HW;
            long double s = 0, v = 0;  // exact enough for 2^20 values of f32
            for (size_t i = 0; i < cnt; i++) s += x[base + i];
            const long double mean = s / cnt;
            for (size_t i = 0; i < cnt; i++) v += (x[base + i] - mean) * (x[base + i] - mean);
            const float meanf = float(mean), inv = float(1.0 / std::sqrt(double(v / cnt) + eps));
            for (int c = 0; c < cpg; c++) {
                const float wc = w[size_t(g * cpg + c)] * inv;
                for (int i = 0; i < HW; i++) {
                    size_t at = base + size_t(c) * HW + size_t(i);
                    double o = double(x[at] - meanf) * wc + b[size_t(g * cpg + c)];
                    ref[at] = swish ? o / (1 + std::exp(-o)) : o;
                }
            }
        }
    expect_close(fetch(be, ty), ref, Tol{1e-6, 1e-6}, "group_norm at VQ size, offset mean");
}
OP_CASE("group_norm_vq_C128_384x384_offset100", [](Backend& be) { group_norm_vq_case(be, 1, 128, 384, 100.0f, false); });
OP_CASE("group_norm_vq_N2_C256_192x192_offset30_swish",
        [](Backend& be) { group_norm_vq_case(be, 2, 256, 192, 30.0f, true); });

void softmax_case(Backend& be, int M, int N, float offset) {
    std::vector<float> x = uniform(size_t(M) * N, 61 + N, -6 + offset, 6 + offset);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {M, N}, x));
    be.softmax(tx);
    std::vector<double> ref(x.size());
    for (int m = 0; m < M; m++) {
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < N; j++) mx = std::max(mx, double(x[size_t(m) * N + j]));
        for (int j = 0; j < N; j++) s += std::exp(x[size_t(m) * N + j] - mx);
        for (int j = 0; j < N; j++) ref[size_t(m) * N + j] = std::exp(x[size_t(m) * N + j] - mx) / s;
    }
    expect_close(fetch(be, tx), ref, Tol{1e-9, 2e-6}, "softmax");
}
OP_CASE("softmax_N1", [](Backend& be) { softmax_case(be, 3, 1, 0); });
OP_CASE("softmax_N7", [](Backend& be) { softmax_case(be, 4, 7, 0); });
OP_CASE("softmax_N1000_offset80", [](Backend& be) { softmax_case(be, 5, 1000, 80); });
OP_CASE("softmax_N16384", [](Backend& be) { softmax_case(be, 2, 16384, -30); });
// A row long enough that a sum of exps accumulated per thread in f32 drifts past the 2e-6 bound.
OP_CASE("softmax_N1048576", [](Backend& be) { softmax_case(be, 2, 1 << 20, 0); });

OP_CASE("norm_bad_shapes_throw", [](Backend& be) {
    std::vector<float> v = uniform(4 * 6, 7);
    Tensor x = to_backend(be, host_tensor(DType::f32, {4, 6}, v));
    Tensor y_bad = alloc_on(be, DType::f32, {4, 5});
    std::vector<float> w5(v.begin(), v.begin() + 5);
    Tensor w_bad = to_backend(be, host_tensor(DType::f32, {5}, w5));
    Tensor y = alloc_on(be, DType::f32, {4, 6});
    EXPECT_THROW(be.rms_norm(y_bad, x, Tensor(), 1e-6f), janus::Error);
    EXPECT_THROW(be.rms_norm(y, x, w_bad, 1e-6f), janus::Error);
    EXPECT_THROW(be.layer_norm(y, x, w_bad, Tensor(), 1e-6f), janus::Error);
    Tensor x4 = to_backend(be, host_tensor(DType::f32, {1, 6, 2, 2}, v = uniform(24, 8)));
    Tensor y4 = alloc_on(be, DType::f32, {1, 6, 2, 2});
    EXPECT_THROW(be.group_norm(y4, x4, Tensor(), Tensor(), 4, 1e-6f, false), janus::Error) << "4 groups of 6 channels";
    std::vector<float> r = uniform(2 * 2 * 6, 9);
    Tensor xr = to_backend(be, host_tensor(DType::f32, {2, 2, 6}, r));
    std::vector<float> f3 = {1, 0.1f, 0.01f};
    Tensor freq = to_backend(be, host_tensor(DType::f32, {3}, f3));
    Tensor pos_bad = to_backend(be, host_i32({3}, {0, 1, 2}));
    EXPECT_THROW(be.rope(xr, pos_bad, freq), janus::Error) << "one position per row";
    std::vector<float> f2 = {1, 0.1f};
    Tensor freq_bad = to_backend(be, host_tensor(DType::f32, {2}, f2));
    Tensor pos = to_backend(be, host_i32({2}, {0, 1}));
    EXPECT_THROW(be.rope(xr, pos, freq_bad), janus::Error) << "inv_freq must hold Dh/2";
});

}  // namespace
}  // namespace optest
