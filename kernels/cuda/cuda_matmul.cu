// CUDA matmul, conv2d and nearest 2× upsample.
// matmul: y[M, N] (=|+=) x[M, K] · w[N, K]ᵀ (+ bias[N]); x may have leading dims ([..., K]).
//   - M <= 8 (decode): own GEMV kernel, one warp per output column n; each lane streams w's row with
//     16-byte loads (8 bf16/f16 or 4 f32) and keeps M accumulators; warp-shuffle reduction. Bound by
//     reading w once. Falls back to scalar loads when K or the pointers are not 16-byte aligned.
//   - larger M: cuBLAS (cublasGemmEx, f32 accumulation, no TF32): bf16·bf16 tensor-core GEMM for bf16
//     weights with MatmulPrecision::bf16 (x rounded to bf16 in scratch); f32 GEMM otherwise, with
//     non-f32 weights converted exactly to f32 in chunks of rows (or the GEMV kernel in groups of 8
//     rows when M <= 32, which reads w fewer times than converting it).
// conv2d: y[N, Co, Ho, Wo] = conv(x[N, Ci, H, W], w[Co, Ci, kh, kw]) + bias: w converted to f32 once
//   per call, im2col into scratch in chunks of output pixels, f32 GEMM per chunk (1×1 stride-1 convs
//   skip im2col). upsample_nearest2x: y[N, C, 2H, 2W] from x[N, C, H, W].
#include <algorithm>

#include "kernels/cuda/cuda_backend_impl.h"

namespace janus::cuda {

namespace {

constexpr int kGemvWarps = 8;  // output columns per 256-thread block

// 16 bytes of w → EPV floats.
template <class T> struct Vec;
template <> struct Vec<__nv_bfloat16> {
    static constexpr int n = 8;
    __device__ static void load(const __nv_bfloat16* p, float* out) {
        uint4 u = __ldg(reinterpret_cast<const uint4*>(p));
        const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            out[2 * i] = __uint_as_float(w[i] << 16);
            out[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
    }
};
template <> struct Vec<__half> {
    static constexpr int n = 8;
    __device__ static void load(const __half* p, float* out) {
        uint4 u = __ldg(reinterpret_cast<const uint4*>(p));
        const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            __half2 h = *reinterpret_cast<const __half2*>(&w[i]);
            float2 f = __half22float2(h);
            out[2 * i] = f.x;
            out[2 * i + 1] = f.y;
        }
    }
};
template <> struct Vec<float> {
    static constexpr int n = 4;
    __device__ static void load(const float* p, float* out) {
        float4 f = __ldg(reinterpret_cast<const float4*>(p));
        out[0] = f.x;
        out[1] = f.y;
        out[2] = f.z;
        out[3] = f.w;
    }
};

// y[m, n] for m in [0, M) (M <= MR), one warp per n. x rows are read through the read-only cache
// (they are small and shared by every warp).
template <class T, int MR, bool VEC>
__global__ void __launch_bounds__(kGemvWarps * 32) gemv_kernel(const float* __restrict__ x, const T* __restrict__ w,
                                                               const void* bias, DType bias_type, float* y, int M,
                                                               int64_t N, int64_t K, bool round_x, bool accumulate) {
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int64_t n = int64_t(blockIdx.x) * kGemvWarps + warp;
    if (n >= N) return;
    const T* wr = w + n * K;
    float acc[MR];
#pragma unroll
    for (int m = 0; m < MR; m++) acc[m] = 0.0f;
    if constexpr (VEC) {
        constexpr int E = Vec<T>::n;
#pragma unroll 4
        for (int64_t k = int64_t(lane) * E; k < K; k += 32 * E) {
            float wv[E];
            Vec<T>::load(wr + k, wv);
#pragma unroll
            for (int m = 0; m < MR; m++) {
                if (m >= M) break;
                const float4* xp = reinterpret_cast<const float4*>(x + int64_t(m) * K + k);
#pragma unroll
                for (int v = 0; v < E / 4; v++) {
                    float4 xv = __ldg(xp + v);
                    float xs[4] = {xv.x, xv.y, xv.z, xv.w};
#pragma unroll
                    for (int i = 0; i < 4; i++) {
                        float xi = round_x ? round_bf16_dev(xs[i]) : xs[i];
                        acc[m] = fmaf(xi, wv[4 * v + i], acc[m]);
                    }
                }
            }
        }
    } else {
        for (int64_t k = lane; k < K; k += 32) {
            float wv = to_f32(wr[k]);
#pragma unroll
            for (int m = 0; m < MR; m++) {
                if (m >= M) break;
                float xi = __ldg(x + int64_t(m) * K + k);
                if (round_x) xi = round_bf16_dev(xi);
                acc[m] = fmaf(xi, wv, acc[m]);
            }
        }
    }
    float b = bias ? load_as_f32(bias, bias_type, n) : 0.0f;
#pragma unroll
    for (int m = 0; m < MR; m++) {
        if (m >= M) break;
        float s = warp_sum(acc[m]);
        if (lane == 0) {
            float* out = y + int64_t(m) * N + n;
            *out = (accumulate ? *out : 0.0f) + s + b;
        }
    }
}

template <class T, int MR>
void launch_gemv_mr(cudaStream_t s, const float* x, const T* w, const void* bias, DType bt, float* y, int M, int64_t N,
                    int64_t K, bool round_x, bool acc) {
    unsigned grid = unsigned((N + kGemvWarps - 1) / kGemvWarps);
    constexpr int E = Vec<T>::n;
    bool vec = K % E == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0;
    // The scalar fallback (odd K or unaligned pointers) is rare: one instance (MR = 8, rows >= M
    // skipped) per weight type keeps the compile small.
    if (vec) gemv_kernel<T, MR, true><<<grid, kGemvWarps * 32, 0, s>>>(x, w, bias, bt, y, M, N, K, round_x, acc);
    else gemv_kernel<T, 8, false><<<grid, kGemvWarps * 32, 0, s>>>(x, w, bias, bt, y, M, N, K, round_x, acc);
    JANUS_CUDA_LAUNCH_CHECK("gemv_kernel");
}

// Rows [0, M) of x/y, any M: groups of up to 8 rows per launch.
template <class T>
void launch_gemv(cudaStream_t s, const float* x, const T* w, const void* bias, DType bt, float* y, int64_t M,
                 int64_t N, int64_t K, bool round_x, bool acc) {
    for (int64_t m0 = 0; m0 < M; m0 += 8) {
        int r = int(std::min<int64_t>(8, M - m0));
        const float* xm = x + m0 * K;
        float* ym = y + m0 * N;
        if (r == 1) launch_gemv_mr<T, 1>(s, xm, w, bias, bt, ym, r, N, K, round_x, acc);
        else if (r == 2) launch_gemv_mr<T, 2>(s, xm, w, bias, bt, ym, r, N, K, round_x, acc);
        else if (r <= 4) launch_gemv_mr<T, 4>(s, xm, w, bias, bt, ym, r, N, K, round_x, acc);
        else launch_gemv_mr<T, 8>(s, xm, w, bias, bt, ym, r, N, K, round_x, acc);
    }
}

template <class F>
__global__ void map_kernel_mm(int64_t n, F f) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        f(i);
}
template <class F>
void launch_map_mm(cudaStream_t s, int64_t n, F f) {
    if (n <= 0) return;
    map_kernel_mm<<<grid_for(n), 256, 0, s>>>(n, f);
    JANUS_CUDA_LAUNCH_CHECK("map_kernel_mm");
}

// dst f32 = src (f32/bf16/f16) elements [0, n).
void to_f32_buffer(cudaStream_t s, float* dst, const void* src, DType t, int64_t n) {
    launch_map_mm(s, n, [=] __device__(int64_t i) { dst[i] = load_as_f32(src, t, i); });
}

// y[r, c] (=|+=) bias[c] for a [rows, cols] block with row stride ld.
void add_bias_rows(cudaStream_t s, float* y, const void* bias, DType bt, int64_t rows, int64_t cols, bool add) {
    launch_map_mm(s, rows * cols, [=] __device__(int64_t i) {
        int64_t c = i % cols;
        float b = bias ? load_as_f32(bias, bt, c) : 0.0f;
        y[i] = (add ? y[i] : 0.0f) + b;
    });
}

void check_int(const char* op, const char* what, int64_t v) {
    if (v > int64_t(INT32_MAX)) fail(op, std::string(what) + " = " + std::to_string(v) + " exceeds cuBLAS's 32-bit limit");
}

// Column-major C[m, n] = op(A)[m, k] · op(B)[k, n], f32 accumulation.
void gemm_ex(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
             const void* A, cudaDataType at, int64_t lda, const void* B, cudaDataType bt, int64_t ldb, float beta,
             float* C, int64_t ldc) {
    const float alpha = 1.0f;
    JANUS_CUBLAS_CHECK(cublasGemmEx(h, ta, tb, int(m), int(n), int(k), &alpha, A, at, int(lda), B, bt, int(ldb), &beta, C,
                                    CUDA_R_32F, int(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void CudaBackend::matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                         MatmulPrecision precision, bool accumulate) {
    const char* op = "matmul";
    check_f32(*this, op, "y", y);
    check_f32(*this, op, "x", x);
    check_float(*this, op, "w", w);
    if (w.ndim() != 2) fail(op, "w is " + w.str() + " but must be a 2-D weight [N, K]");
    int64_t N = w.dim(0), K = w.dim(1);
    if (x.ndim() < 1 || x.dim(-1) != K)
        fail(op, "x is " + x.str() + " but w is " + w.str() + ": x's last dim must equal K = " + std::to_string(K));
    int64_t M = K ? x.numel() / K : 0;
    if (y.ndim() < 1 || y.dim(-1) != N || y.numel() != M * N)
        fail(op, "y is " + y.str() + " but must hold [" + std::to_string(M) + ", " + std::to_string(N) + "] for x " +
                     x.shape().str() + " and w " + w.shape().str());
    if (bias.defined()) {
        check_float(*this, op, "bias", bias);
        check_numel(op, "bias", bias, N);
    }
    if (y.data() == x.data() && M * N > 0) fail(op, "y must not alias x (use a separate output tensor)");
    if (M == 0 || N == 0) return;
    activate();
    cudaStream_t s = stream();
    const void* bp = bias.defined() ? bias.data() : nullptr;
    DType bt = bias.defined() ? bias.dtype() : DType::f32;
    float* py = y.ptr<float>();
    const float* px = x.ptr<float>();
    if (K == 0) {
        add_bias_rows(s, py, bp, bt, M, N, accumulate);
        return;
    }
    bool round_x = precision == MatmulPrecision::bf16;
    DType wt = w.dtype();
    auto gemv = [&](int64_t rows) {
        if (wt == DType::bf16) launch_gemv(s, px, w.ptr<__nv_bfloat16>(), bp, bt, py, rows, N, K, round_x, accumulate);
        else if (wt == DType::f16) launch_gemv(s, px, w.ptr<__half>(), bp, bt, py, rows, N, K, round_x, accumulate);
        else launch_gemv(s, px, w.ptr<float>(), bp, bt, py, rows, N, K, round_x, accumulate);
    };
    if (M <= 8 || (wt != DType::f32 && !(wt == DType::bf16 && round_x) && M <= 32)) {
        gemv(M);
        return;
    }
    check_int(op, "M", M);
    check_int(op, "N", N);
    check_int(op, "K", K);
    float beta = accumulate ? 1.0f : 0.0f;
    if (wt == DType::bf16 && round_x) {
        // bf16 × bf16 on the tensor cores, f32 accumulate: x rounded to bf16 is exactly what the
        // reference's bf16 path multiplies.
        uint16_t* xb = static_cast<uint16_t*>(scratch(size_t(M * K) * 2));
        launch_map_mm(s, M * K, [=] __device__(int64_t i) { xb[i] = f32_to_bf16_bits(px[i]); });
        gemm_ex(blas(), CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, w.data(), CUDA_R_16BF, K, xb, CUDA_R_16BF, K, beta, py, N);
    } else {
        // f32 GEMM. x (rounded to bf16 values when asked) and w chunks converted to f32 in scratch.
        size_t x_bytes = round_x ? (size_t(M * K) * 4 + 255) / 256 * 256 : 0;
        int64_t budget = chunk_budget(64 << 20, x_bytes);
        int64_t rows_per_chunk = wt == DType::f32 ? N : std::max<int64_t>(1, std::min<int64_t>(N, budget / (K * 4)));
        size_t w_bytes = wt == DType::f32 ? 0 : size_t(rows_per_chunk * K) * 4;
        char* sc = static_cast<char*>(scratch(std::max<size_t>(x_bytes + w_bytes, 256)));
        const float* xa = px;
        if (round_x) {
            float* xr = reinterpret_cast<float*>(sc);
            launch_map_mm(s, M * K, [=] __device__(int64_t i) { xr[i] = round_bf16_dev(px[i]); });
            xa = xr;
        }
        float* wf = reinterpret_cast<float*>(sc + x_bytes);
        for (int64_t n0 = 0; n0 < N; n0 += rows_per_chunk) {
            int64_t nc = std::min(rows_per_chunk, N - n0);
            const float* wa;
            if (wt == DType::f32) {
                wa = w.ptr<float>() + n0 * K;
            } else {
                size_t esz = dtype_size(wt);
                to_f32_buffer(s, wf, static_cast<const char*>(w.data()) + size_t(n0 * K) * esz, wt, nc * K);
                wa = wf;
            }
            gemm_ex(blas(), CUBLAS_OP_T, CUBLAS_OP_N, nc, M, K, wa, CUDA_R_32F, K, xa, CUDA_R_32F, K, beta, py + n0, N);
        }
    }
    if (bp) add_bias_rows(s, py, bp, bt, M, N, true);
}

// ---- conv2d -------------------------------------------------------------------------------------------
namespace {
struct ConvGeom {
    int64_t Ci, H, W, kh, kw, Ho, Wo, stride, pt, pl;
};
// col[kidx, p - p0] for kidx < Ci·kh·kw and output pixels p in [p0, p0 + pc) of one image.
__global__ void im2col_kernel(float* col, const float* x, ConvGeom g, int64_t p0, int64_t pc) {
    int64_t total = g.Ci * g.kh * g.kw * pc;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        int64_t pp = i % pc, kidx = i / pc;
        int64_t p = p0 + pp;
        int64_t oy = p / g.Wo, ox = p % g.Wo;
        int64_t j = kidx % g.kw, r = (kidx / g.kw) % g.kh, ci = kidx / (g.kw * g.kh);
        int64_t iy = oy * g.stride - g.pt + r, ix = ox * g.stride - g.pl + j;
        col[i] = (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) ? x[(ci * g.H + iy) * g.W + ix] : 0.0f;
    }
}
}  // namespace

void CudaBackend::conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                         const Conv2dParams& cp) {
    const char* op = "conv2d";
    check_f32(*this, op, "y", y);
    check_f32(*this, op, "x", x);
    check_float(*this, op, "w", w);
    if (x.ndim() != 4) fail(op, "x is " + x.str() + " but must be [N, Ci, H, W]");
    if (w.ndim() != 4) fail(op, "w is " + w.str() + " but must be [Co, Ci, kh, kw]");
    int64_t N = x.dim(0), Ci = x.dim(1), H = x.dim(2), W = x.dim(3);
    int64_t Co = w.dim(0), kh = w.dim(2), kw = w.dim(3);
    if (w.dim(1) != Ci)
        fail(op, "w " + w.shape().str() + " expects " + std::to_string(w.dim(1)) + " input channels but x " +
                     x.shape().str() + " has " + std::to_string(Ci));
    if (cp.stride < 1) fail(op, "stride must be >= 1, got " + std::to_string(cp.stride));
    if (cp.pad_top < 0 || cp.pad_left < 0 || cp.pad_bottom < 0 || cp.pad_right < 0) fail(op, "padding must be >= 0");
    int64_t Hp = H + cp.pad_top + cp.pad_bottom, Wp = W + cp.pad_left + cp.pad_right;
    if (kh < 1 || kw < 1 || Hp < kh || Wp < kw)
        fail(op, "kernel " + std::to_string(kh) + "x" + std::to_string(kw) + " does not fit the padded input " +
                     std::to_string(Hp) + "x" + std::to_string(Wp));
    int64_t Ho = (Hp - kh) / cp.stride + 1, Wo = (Wp - kw) / cp.stride + 1;
    Shape want{N, Co, Ho, Wo};
    if (!(y.shape() == want)) fail(op, "y is " + y.str() + " but must be " + want.str());
    if (bias.defined()) {
        check_float(*this, op, "bias", bias);
        check_numel(op, "bias", bias, Co);
    }
    if (y.numel() == 0) return;
    if (y.data() == x.data()) fail(op, "y must not alias x");
    activate();
    cudaStream_t s = stream();
    const int64_t K = Ci * kh * kw, P = Ho * Wo;
    check_int(op, "Ci*kh*kw", K);
    check_int(op, "Ho*Wo", P);
    check_int(op, "Co", Co);
    bool direct = kh == 1 && kw == 1 && cp.stride == 1 && cp.pad_top == 0 && cp.pad_left == 0 && cp.pad_bottom == 0 &&
                  cp.pad_right == 0;
    size_t w_bytes = w.dtype() == DType::f32 ? 0 : (size_t(Co * K) * 4 + 255) / 256 * 256;
    int64_t budget = chunk_budget(128 << 20, w_bytes);
    int64_t pc = direct ? P : std::max<int64_t>(1, std::min<int64_t>(P, budget / std::max<int64_t>(K * 4, 1)));
    size_t col_bytes = direct ? 0 : size_t(K * pc) * 4;
    char* sc = static_cast<char*>(scratch(std::max<size_t>(w_bytes + col_bytes, 256)));
    const float* wf = w.ptr<float>();
    if (w.dtype() != DType::f32) {
        to_f32_buffer(s, reinterpret_cast<float*>(sc), w.data(), w.dtype(), Co * K);
        wf = reinterpret_cast<const float*>(sc);
    }
    float* col = reinterpret_cast<float*>(sc + w_bytes);
    ConvGeom g{Ci, H, W, kh, kw, Ho, Wo, cp.stride, cp.pad_top, cp.pad_left};
    for (int64_t n = 0; n < N; n++) {
        const float* xn = x.ptr<float>() + n * Ci * H * W;
        float* yn = y.ptr<float>() + n * Co * P;
        for (int64_t p0 = 0; p0 < P; p0 += pc) {
            int64_t cnt = std::min(pc, P - p0);
            const float* a = xn + p0;
            int64_t lda = P;
            if (!direct) {
                im2col_kernel<<<grid_for(K * cnt), 256, 0, s>>>(col, xn, g, p0, cnt);
                JANUS_CUDA_LAUNCH_CHECK("im2col_kernel");
                a = col;
                lda = cnt;
            }
            // Column-major: y_n[p, co] (ld P) = colᵀ[p, k] · w[k, co].
            gemm_ex(blas(), CUBLAS_OP_N, CUBLAS_OP_N, cnt, Co, K, a, CUDA_R_32F, lda, wf, CUDA_R_32F, K, 0.0f, yn + p0, P);
        }
    }
    if (bias.defined()) {
        float* py = y.ptr<float>();
        const void* bp = bias.data();
        DType bt = bias.dtype();
        launch_map_mm(s, y.numel(), [=] __device__(int64_t i) { py[i] += load_as_f32(bp, bt, (i / P) % Co); });
    }
}

void CudaBackend::upsample_nearest2x(const Tensor& y, const Tensor& x) {
    const char* op = "upsample_nearest2x";
    check_f32(*this, op, "y", y);
    check_f32(*this, op, "x", x);
    if (x.ndim() < 2) fail(op, "x is " + x.str() + " but must be [..., H, W]");
    Shape want = x.shape();
    want[-1] *= 2;
    want[-2] *= 2;
    if (!(y.shape() == want)) fail(op, "y is " + y.str() + " but must be " + want.str());
    if (y.data() == x.data() && y.numel() > 0) fail(op, "y must not alias x");
    activate();
    int64_t H = x.dim(-2), W = x.dim(-1);
    float* py = y.ptr<float>();
    const float* px = x.ptr<float>();
    launch_map_mm(stream(), y.numel(), [=] __device__(int64_t i) {
        int64_t ox = i % (2 * W), oy = (i / (2 * W)) % (2 * H), plane = i / (4 * H * W);
        py[i] = px[(plane * H + oy / 2) * W + ox / 2];
    });
}

}  // namespace janus::cuda
