// Op table cases: conv2d y[N, Co, Ho, Wo] = conv(x[N, Ci, H, W], w[Co, Ci, kh, kw]) + bias for the
// shapes the models use — 1×1, 3×3 pad 1, 16×16 stride 16 (SigLIP patch embedding) and the VQ
// encoder's downsample (3×3 stride 2, zero pad only bottom/right), and widths that take the AVX-512
// Winograd F(4×4, 3×3) path (W >= 16) — with f32/bf16 weights, and
// upsample_nearest2x. Reference: float64 direct convolution. Tolerance 1e-5·Σ|x·w| + 1e-6.
#include "op_test.h"

namespace optest {
namespace {

struct ConvSpec {
    const char* name;
    int N, Ci, Co, H, W, kh, kw;
    janus::Conv2dParams p;
};

void conv_case(Backend& be, const ConvSpec& c, DType wt, bool with_bias) {
    const auto& p = c.p;
    int Ho = (c.H + p.pad_top + p.pad_bottom - c.kh) / p.stride + 1;
    int Wo = (c.W + p.pad_left + p.pad_right - c.kw) / p.stride + 1;
    std::vector<float> x = uniform(size_t(c.N) * c.Ci * c.H * c.W, 121 + c.H, -1, 1);
    std::vector<float> w = uniform(size_t(c.Co) * c.Ci * c.kh * c.kw, 122 + c.kh, -0.5f, 0.5f);
    std::vector<float> b = uniform(size_t(c.Co), 123);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {c.N, c.Ci, c.H, c.W}, x));
    Tensor tw = to_backend(be, host_tensor(wt, {c.Co, c.Ci, c.kh, c.kw}, w));
    Tensor tb = with_bias ? to_backend(be, host_tensor(wt, {c.Co}, b)) : Tensor();
    Tensor ty = alloc_on(be, DType::f32, {c.N, c.Co, Ho, Wo});
    be.conv2d(ty, tx, tw, tb, p);
    std::vector<double> ref(size_t(c.N) * c.Co * Ho * Wo), mag(ref.size());
    for (int n = 0; n < c.N; n++)
        for (int co = 0; co < c.Co; co++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    double acc = with_bias ? b[co] : 0.0, m = std::fabs(acc);
                    for (int ci = 0; ci < c.Ci; ci++)
                        for (int r = 0; r < c.kh; r++)
                            for (int s = 0; s < c.kw; s++) {
                                int ih = oh * p.stride - p.pad_top + r, iw = ow * p.stride - p.pad_left + s;
                                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                                double t = double(x[((size_t(n) * c.Ci + ci) * c.H + ih) * c.W + iw]) *
                                           w[((size_t(co) * c.Ci + ci) * c.kh + r) * c.kw + s];
                                acc += t;
                                m += std::fabs(t);
                            }
                    size_t at = ((size_t(n) * c.Co + co) * Ho + oh) * Wo + ow;
                    ref[at] = acc;
                    mag[at] = m;
                }
    expect_close(fetch(be, ty), ref, Tol{1e-6, 0, 1e-5, 1e-10}, std::string("conv2d ") + c.name, mag);
}

bool register_conv_cases() {
    using P = janus::Conv2dParams;
    const ConvSpec specs[] = {
        {"1x1", 2, 8, 12, 5, 7, 1, 1, P::same(0)},
        {"3x3_pad1", 2, 5, 7, 9, 7, 3, 3, P::same(1)},
        {"3x3_pad1_wide", 1, 32, 40, 12, 20, 3, 3, P::same(1)},
        // Winograd F(4x4, 3x3) on AVX-512 (W >= 16): H, W not multiples of 4, Co not a multiple of
        // 6, tile rows of 4, 8, 17 and 33 tiles (segments of 16 tiles inside one tile row and
        // straddling rows); all of these run in the whole-image mode (< 8 blocks of 64 tiles) ...
        {"3x3_pad1_winograd_w16", 1, 9, 14, 7, 16, 3, 3, P::same(1)},
        {"3x3_pad1_winograd_w29", 2, 7, 5, 13, 29, 3, 3, P::same(1)},
        {"3x3_pad1_winograd_w66", 1, 19, 13, 10, 66, 3, 3, P::same(1)},
        {"3x3_pad1_winograd_w130", 1, 24, 8, 9, 130, 3, 3, P::same(1)},
        {"3x3_pad1_winograd_deep", 1, 160, 12, 6, 32, 3, 3, P::same(1)},
        // ... and this one in the per-block mode (10 × 50 tiles = 32 segments = 8 blocks).
        {"3x3_pad1_winograd_blocks", 1, 5, 7, 39, 198, 3, 3, P::same(1)},
        {"16x16_stride16", 1, 3, 8, 32, 48, 16, 16, P::same(0, 16)},
        {"3x3_stride2_pad_bottom_right", 1, 4, 6, 8, 10, 3, 3, P{2, 0, 0, 1, 1}},
    };
    for (const ConvSpec& s : specs)
        for (DType wt : {DType::f32, DType::bf16})
            for (bool bias : {false, true}) {
                ConvSpec c = s;
                add_case(std::string("conv2d_") + s.name + "_w" + janus::dtype_name(wt) + (bias ? "_bias" : ""),
                         [c, wt, bias](Backend& be) { conv_case(be, c, wt, bias); });
            }
    return true;
}
const bool conv_registered = register_conv_cases();

OP_CASE("upsample_nearest2x", [](Backend& be) {
    const int N = 2, C = 3, H = 5, W = 7;
    std::vector<float> x = uniform(size_t(N) * C * H * W, 131);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {N, C, H, W}, x));
    Tensor ty = alloc_on(be, DType::f32, {N, C, 2 * H, 2 * W});
    be.upsample_nearest2x(ty, tx);
    std::vector<double> ref(size_t(N) * C * 4 * H * W);
    for (int p = 0; p < N * C; p++)
        for (int i = 0; i < 2 * H; i++)
            for (int j = 0; j < 2 * W; j++)
                ref[(size_t(p) * 2 * H + i) * 2 * W + j] = x[(size_t(p) * H + i / 2) * W + j / 2];
    expect_close(fetch(be, ty), ref, Tol{}, "upsample_nearest2x (exact)");
});

OP_CASE("conv_bad_shapes_throw", [](Backend& be) {
    std::vector<float> x = uniform(1 * 3 * 4 * 4, 1), w = uniform(2 * 4 * 3 * 3, 2), w2 = uniform(2 * 3 * 5 * 5, 3);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {1, 3, 4, 4}, x));
    Tensor tw_ci = to_backend(be, host_tensor(DType::f32, {2, 4, 3, 3}, w));
    Tensor tw_big = to_backend(be, host_tensor(DType::f32, {2, 3, 5, 5}, w2));
    Tensor y = alloc_on(be, DType::f32, {1, 2, 4, 4});
    EXPECT_THROW(be.conv2d(y, tx, tw_ci, Tensor(), janus::Conv2dParams::same(1)), janus::Error) << "Ci mismatch";
    EXPECT_THROW(be.conv2d(y, tx, tw_big, Tensor(), janus::Conv2dParams::same(0)), janus::Error) << "kernel > input";
    std::vector<float> w3 = uniform(2 * 3 * 3 * 3, 4);
    Tensor tw = to_backend(be, host_tensor(DType::f32, {2, 3, 3, 3}, w3));
    Tensor y_bad = alloc_on(be, DType::f32, {1, 2, 3, 3});
    EXPECT_THROW(be.conv2d(y_bad, tx, tw, Tensor(), janus::Conv2dParams::same(1)), janus::Error) << "y shape";
    Tensor up_bad = alloc_on(be, DType::f32, {1, 3, 8, 7});
    EXPECT_THROW(be.upsample_nearest2x(up_bad, tx), janus::Error);
});

}  // namespace
}  // namespace optest
