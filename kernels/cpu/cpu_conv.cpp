// CPU conv2d and nearest 2× upsample.
// conv2d: y[N, Co, Ho, Wo] = conv(x[N, Ci, H, W], w[Co, Ci, kh, kw]) + bias[Co], zero padding per side,
// one stride for both axes. Implemented as im2col + GEMM: for a tile of output pixels P the task
// builds colT[P, Ci·kh·kw] and computes y[Co, P] = W[Co, K] · colTᵀ with the gemm.h kernels
// (W converted to f32 once per call). Tiles are independent, so any thread count gives the same bits.
// The hot 3×3 / stride 1 / pad 1 case uses Winograd F(4×4, 3×3) for images at least 16 wide and a
// direct kernel below that (conv_kernels.h), where the CPU has AVX-512.
// upsample_nearest2x: y[..., 2H, 2W] from x[..., H, W].
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/cpu/conv_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"

namespace janus::cpu {

void CpuBackend::conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                        const Conv2dParams& cp) {
    const char* op = "conv2d";
    check_f32(op, "y", y);
    check_f32(op, "x", x);
    check_float(op, "w", w);
    if (x.ndim() != 4) fail(op, "x is " + x.str() + " but must be [N, Ci, H, W]");
    if (w.ndim() != 4) fail(op, "w is " + w.str() + " but must be [Co, Ci, kh, kw]");
    int64_t N = x.dim(0), Ci = x.dim(1), H = x.dim(2), W = x.dim(3);
    int64_t Co = w.dim(0), kh = w.dim(2), kw = w.dim(3);
    if (w.dim(1) != Ci) fail(op, "w " + w.shape().str() + " expects " + std::to_string(w.dim(1)) +
                                     " input channels but x " + x.shape().str() + " has " + std::to_string(Ci));
    if (cp.stride < 1) fail(op, "stride must be >= 1, got " + std::to_string(cp.stride));
    if (cp.pad_top < 0 || cp.pad_left < 0 || cp.pad_bottom < 0 || cp.pad_right < 0)
        fail(op, "padding must be >= 0");
    int64_t Hp = H + cp.pad_top + cp.pad_bottom, Wp = W + cp.pad_left + cp.pad_right;
    if (kh < 1 || kw < 1 || Hp < kh || Wp < kw)
        fail(op, "kernel " + std::to_string(kh) + "x" + std::to_string(kw) + " does not fit the padded input " +
                     std::to_string(Hp) + "x" + std::to_string(Wp));
    int64_t Ho = (Hp - kh) / cp.stride + 1, Wo = (Wp - kw) / cp.stride + 1;
    Shape want{N, Co, Ho, Wo};
    if (!(y.shape() == want)) fail(op, "y is " + y.str() + " but must be " + want.str());
    std::vector<float> bf;
    if (bias.defined()) {
        check_float(op, "bias", bias);
        check_numel(op, "bias", bias, Co);
        bf = param_f32(bias, Co, 0.0f);
    }
    if (y.numel() == 0) return;
    if (y.data() == x.data()) fail(op, "y must not alias x");

    const int64_t K = Ci * kh * kw, P = Ho * Wo;
    const bool same3x3 = kh == 3 && kw == 3 && cp.stride == 1 && cp.pad_top == 1 && cp.pad_left == 1 &&
                         cp.pad_bottom == 1 && cp.pad_right == 1;
    // Winograd: its lane offsets within a plane are int32; it reads f32 weights in place.
    const bool winograd = same3x3 && use_conv3x3_winograd(W) && H * W < (int64_t(1) << 30);
    std::vector<float> wf;
    if (!(winograd && w.dtype() == DType::f32)) {
        wf.resize(size_t(Co * K));
        load_f32(w.data(), w.dtype(), 0, Co * K, wf.data());
    }
    if (winograd) {
        conv3x3_winograd_avx512(pool_, x.ptr<float>(), wf.empty() ? w.ptr<float>() : wf.data(),
                                bf.empty() ? nullptr : bf.data(), y.ptr<float>(), N, Ci, Co, H, W);
        return;
    }

    Conv3x3RowFn direct = same3x3 ? conv3x3_row_kernel() : nullptr;
    if (direct) {
        conv3x3_direct(direct, y, x, wf, bf, Co, Ci, H, W);
        return;
    }

    GemmProblem base;
    base.M = Co;
    base.K = K;
    base.a = wf.data();
    base.lda = K;
    base.btype = DType::f32;
    base.ldb = K;
    base.ldc = P;
    base.accumulate = true;
    GemmKernel kernel = gemm_kernel(DType::f32, false);

    const int64_t tile = std::max<int64_t>(16, std::min<int64_t>(256, (int64_t(1) << 16) / std::max<int64_t>(K, 1)) / 16 * 16);
    const int64_t tiles_per_image = (P + tile - 1) / tile;
    const float* px = x.ptr<float>();
    float* py = y.ptr<float>();
    const int stride = cp.stride;
    pool_.parallel_for(N * tiles_per_image, 1, [&](int64_t tb, int64_t te) {
        std::vector<float> col(size_t(tile * K));
        for (int64_t t = tb; t < te; t++) {
            int64_t n = t / tiles_per_image;
            int64_t p0 = (t % tiles_per_image) * tile, p1 = std::min(P, p0 + tile);
            const float* xn = px + n * Ci * H * W;
            // im2col: colT[p - p0, (ci, r, s)]
            for (int64_t p = p0; p < p1; p++) {
                int64_t oh = p / Wo, ow = p % Wo;
                float* cr = col.data() + (p - p0) * K;
                for (int64_t ci = 0; ci < Ci; ci++)
                    for (int64_t r = 0; r < kh; r++) {
                        int64_t ih = oh * stride - cp.pad_top + r;
                        bool row_ok = ih >= 0 && ih < H;
                        const float* xr = xn + (ci * H + (row_ok ? ih : 0)) * W;
                        for (int64_t s = 0; s < kw; s++) {
                            int64_t iw = ow * stride - cp.pad_left + s;
                            *cr++ = (row_ok && iw >= 0 && iw < W) ? xr[iw] : 0.0f;
                        }
                    }
            }
            float* yn = py + n * Co * P;
            for (int64_t co = 0; co < Co; co++) {
                float b = bf.empty() ? 0.0f : bf[size_t(co)];
                std::fill(yn + co * P + p0, yn + co * P + p1, b);
            }
            GemmProblem g = base;
            g.N = p1 - p0;
            g.b = col.data();
            g.c = yn + p0;
            kernel(g, 0, p1 - p0);
        }
    });
}

// 3×3 / stride 1 / pad 1 through the direct row kernel (conv_kernels.h): weights repacked into
// blocks of 6 output channels, each image copied once into a zero-bordered buffer, then one task per
// output row.
void CpuBackend::conv3x3_direct(Conv3x3RowFn fn, const Tensor& y, const Tensor& x, const std::vector<float>& wf,
                                const std::vector<float>& bias, int64_t Co, int64_t Ci, int64_t H, int64_t W) {
    const int64_t CB = kConvCoBlock, blocks = (Co + CB - 1) / CB;
    std::vector<float> wpack(size_t(blocks * Ci * 9 * CB), 0.0f);
    for (int64_t co = 0; co < Co; co++)
        for (int64_t ci = 0; ci < Ci; ci++)
            for (int64_t k = 0; k < 9; k++)
                wpack[size_t(((co / CB * Ci + ci) * 9 + k) * CB + co % CB)] = wf[size_t((co * Ci + ci) * 9 + k)];
    const int64_t Wp = (W + 2 + 15) / 16 * 16, plane = (H + 2) * Wp;
    std::vector<float> xpad(size_t(Ci * plane));
    const int64_t N = x.dim(0);
    for (int64_t n = 0; n < N; n++) {
        const float* xn = x.ptr<float>() + n * Ci * H * W;
        pool_.parallel_for(Ci, 1, [&](int64_t b, int64_t e) {
            for (int64_t ci = b; ci < e; ci++) {
                float* pc = xpad.data() + ci * plane;
                std::fill(pc, pc + plane, 0.0f);
                for (int64_t h = 0; h < H; h++) std::copy(xn + (ci * H + h) * W, xn + (ci * H + h + 1) * W, pc + (h + 1) * Wp + 1);
            }
        });
        Conv3x3Args a;
        a.xpad = xpad.data();
        a.Wp = Wp;
        a.wpack = wpack.data();
        a.bias = bias.empty() ? nullptr : bias.data();
        a.y = y.ptr<float>() + n * Co * H * W;
        a.Ci = Ci;
        a.Co = Co;
        a.H = H;
        a.W = W;
        pool_.parallel_for(H, 1, [&](int64_t b, int64_t e) {
            for (int64_t oh = b; oh < e; oh++) fn(a, oh);
        });
    }
}

bool use_conv3x3_winograd(int64_t W) {
    static const bool enabled = [] {
        const char* e = std::getenv("JANUS_CONV_WINOGRAD");
        return !(e && std::strcmp(e, "0") == 0);
    }();
    return enabled && W >= 16 && best_isa() >= IsaLevel::avx512;
}

Conv3x3RowFn conv3x3_row_kernel() {
    return best_isa() >= IsaLevel::avx512 ? conv3x3_row_kernel_avx512() : nullptr;
}

void CpuBackend::upsample_nearest2x(const Tensor& y, const Tensor& x) {
    const char* op = "upsample_nearest2x";
    check_f32(op, "y", y);
    check_f32(op, "x", x);
    if (x.ndim() < 2) fail(op, "x is " + x.str() + " but must be [..., H, W]");
    Shape want = x.shape();
    want[-1] *= 2;
    want[-2] *= 2;
    if (!(y.shape() == want)) fail(op, "y is " + y.str() + " but must be " + want.str());
    int64_t H = x.dim(-2), W = x.dim(-1);
    int64_t planes = (H * W) != 0 ? x.numel() / (H * W) : 0;
    const float* px = x.ptr<float>();
    float* py = y.ptr<float>();
    pool_.parallel_for(planes * H, 16, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; r++) {
            int64_t plane = r / H, h = r % H;
            const float* xr = px + (plane * H + h) * W;
            float* y0 = py + (plane * 2 * H + 2 * h) * 2 * W;
            float* y1 = y0 + 2 * W;
            for (int64_t j = 0; j < W; j++) y0[2 * j] = y0[2 * j + 1] = xr[j];
            std::copy(y0, y0 + 2 * W, y1);
        }
    });
}

}  // namespace janus::cpu
