// CPU normalisation-style ops, one row (or one group) per task:
// rms_norm / layer_norm over the last dim of x[M, D]; group_norm over x[N, C, H, W] in `groups`
// groups of C/groups channels (optionally followed by swish); rope in place on x[M, H, Dh] with one
// position per row; softmax in place over the last dim of x[M, N]. Row statistics are accumulated
// in double (cheap next to the matmuls, and independent of the thread count).
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/elementwise_kernels.h"

namespace janus::cpu {

namespace {
int64_t rows_of(const Tensor& t, int64_t D) { return D ? t.numel() / D : 0; }
int64_t row_grain(int64_t D) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)); }
}  // namespace

void CpuBackend::rms_norm(const Tensor& y, const Tensor& x, const Tensor& w, float eps, bool round) {
    const char* op = "rms_norm";
    check_f32(op, "y", y);
    check_f32(op, "x", x);
    check_same_shape(op, "y", y, "x", x);
    if (x.ndim() < 1) fail(op, "x must have at least one dimension");
    int64_t D = x.dim(-1);
    if (w.defined()) {
        check_float(op, "w", w);
        check_numel(op, "w", w, D);
    }
    std::vector<float> wf = param_f32(w, D, 1.0f);
    const float* px = x.ptr<float>();
    float* py = y.ptr<float>();
    pool_.parallel_for(rows_of(x, D), row_grain(D), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; r++) {
            const float* xr = px + r * D;
            float* yr = py + r * D;
            double ss = 0;
            for (int64_t j = 0; j < D; j++) ss += double(xr[j]) * xr[j];
            float inv = float(1.0 / std::sqrt(ss / double(D) + double(eps)));
            for (int64_t j = 0; j < D; j++) {
                float v = xr[j] * inv;
                if (round) v = round_bf16(v);
                yr[j] = v * wf[size_t(j)];
            }
        }
    });
}

void CpuBackend::layer_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, float eps) {
    const char* op = "layer_norm";
    check_f32(op, "y", y);
    check_f32(op, "x", x);
    check_same_shape(op, "y", y, "x", x);
    if (x.ndim() < 1) fail(op, "x must have at least one dimension");
    int64_t D = x.dim(-1);
    if (w.defined()) { check_float(op, "w", w); check_numel(op, "w", w, D); }
    if (b.defined()) { check_float(op, "b", b); check_numel(op, "b", b, D); }
    std::vector<float> wf = param_f32(w, D, 1.0f), bf = param_f32(b, D, 0.0f);
    const float* px = x.ptr<float>();
    float* py = y.ptr<float>();
    pool_.parallel_for(rows_of(x, D), row_grain(D), [&](int64_t rb, int64_t re) {
        for (int64_t r = rb; r < re; r++) {
            const float* xr = px + r * D;
            float* yr = py + r * D;
            double s = 0;
            for (int64_t j = 0; j < D; j++) s += xr[j];
            double mean = s / double(D);
            double v = 0;
            for (int64_t j = 0; j < D; j++) v += (xr[j] - mean) * (xr[j] - mean);
            float inv = float(1.0 / std::sqrt(v / double(D) + double(eps)));
            float meanf = float(mean);
            for (int64_t j = 0; j < D; j++) yr[j] = (xr[j] - meanf) * inv * wf[size_t(j)] + bf[size_t(j)];
        }
    });
}

void CpuBackend::group_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, int groups,
                            float eps, bool swish) {
    const char* op = "group_norm";
    check_f32(op, "y", y);
    check_f32(op, "x", x);
    check_same_shape(op, "y", y, "x", x);
    if (x.ndim() < 2) fail(op, "x is " + x.str() + " but must be [N, C, ...]");
    int64_t N = x.dim(0), C = x.dim(1);
    if (groups <= 0 || C % groups != 0)
        fail(op, "groups = " + std::to_string(groups) + " must be positive and divide C = " + std::to_string(C));
    if (w.defined()) { check_float(op, "w", w); check_numel(op, "w", w, C); }
    if (b.defined()) { check_float(op, "b", b); check_numel(op, "b", b, C); }
    std::vector<float> wf = param_f32(w, C, 1.0f), bf = param_f32(b, C, 0.0f);
    int64_t HW = (N * C) != 0 ? x.numel() / (N * C) : 0;
    int64_t cpg = C / groups;
    const float* px = x.ptr<float>();
    float* py = y.ptr<float>();
    auto affine = elementwise_kernels().affine;
    pool_.parallel_for(N * groups, 1, [&](int64_t gb, int64_t ge) {
        for (int64_t t = gb; t < ge; t++) {
            int64_t n = t / groups, g = t % groups;
            const float* xg = px + (n * C + g * cpg) * HW;
            float* yg = py + (n * C + g * cpg) * HW;
            int64_t cnt = cpg * HW;
            double s = 0;
            for (int64_t i = 0; i < cnt; i++) s += xg[i];
            double mean = s / double(cnt);
            double v = 0;
            for (int64_t i = 0; i < cnt; i++) v += (xg[i] - mean) * (xg[i] - mean);
            float inv = float(1.0 / std::sqrt(v / double(cnt) + double(eps)));
            float meanf = float(mean);
            for (int64_t c = 0; c < cpg; c++) {
                float wc = wf[size_t(g * cpg + c)] * inv, bc = bf[size_t(g * cpg + c)];
                affine(xg + c * HW, yg + c * HW, HW, meanf, wc, bc, swish);
            }
        }
    });
}

void CpuBackend::rope(const Tensor& x, const Tensor& pos, const Tensor& inv_freq, bool round) {
    const char* op = "rope";
    check_f32(op, "x", x);
    check_host(op, "pos", pos);
    check_f32(op, "inv_freq", inv_freq);
    if (x.ndim() != 3) fail(op, "x is " + x.str() + " but must be [M, H, Dh]");
    int64_t M = x.dim(0), H = x.dim(1), Dh = x.dim(2);
    if (Dh % 2) fail(op, "head dim " + std::to_string(Dh) + " must be even");
    if (pos.dtype() != DType::i32) fail(op, "pos is " + pos.str() + " but must be i32");
    check_numel(op, "pos", pos, M);
    int64_t half = Dh / 2;
    check_numel(op, "inv_freq", inv_freq, half);
    const int32_t* pp = pos.ptr<int32_t>();
    const float* fr = inv_freq.ptr<float>();
    float* px = x.ptr<float>();
    pool_.parallel_for(M, 1, [&](int64_t b, int64_t e) {
        std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
        for (int64_t m = b; m < e; m++) {
            float p = float(pp[m]);
            for (int64_t j = 0; j < half; j++) {
                float ang = p * fr[j];
                float c = std::cos(ang), s = std::sin(ang);
                if (round) { c = round_bf16(c); s = round_bf16(s); }
                cs[size_t(j)] = c;
                sn[size_t(j)] = s;
            }
            for (int64_t h = 0; h < H; h++) {
                float* v = px + (m * H + h) * Dh;
                for (int64_t j = 0; j < half; j++) {
                    float x1 = v[j], x2 = v[j + half];
                    v[j] = x1 * cs[size_t(j)] - x2 * sn[size_t(j)];
                    v[j + half] = x2 * cs[size_t(j)] + x1 * sn[size_t(j)];
                }
            }
        }
    });
}

void CpuBackend::softmax(const Tensor& x) {
    const char* op = "softmax";
    check_f32(op, "x", x);
    if (x.ndim() < 1) fail(op, "x must have at least one dimension");
    int64_t N = x.dim(-1);
    float* px = x.ptr<float>();
    pool_.parallel_for(rows_of(x, N), row_grain(N), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; r++) {
            float* v = px + r * N;
            float mx = -INFINITY;
            for (int64_t j = 0; j < N; j++) mx = std::max(mx, v[j]);
            if (mx == -INFINITY) {  // fully masked row: define as zeros rather than NaN
                for (int64_t j = 0; j < N; j++) v[j] = 0.0f;
                continue;
            }
            double s = 0;
            for (int64_t j = 0; j < N; j++) {
                v[j] = std::exp(v[j] - mx);
                s += v[j];
            }
            float inv = float(1.0 / s);
            for (int64_t j = 0; j < N; j++) v[j] *= inv;
        }
    });
}

}  // namespace janus::cpu
