// CUDA row-wise ops and attention.
// rms_norm / layer_norm over the last dim of x[M, D] (one block per row); group_norm over
// x[N, C, H, W] in `groups` groups (one block per (n, group), two passes: mean, then variance);
// row statistics and softmax sums in double per thread and across the block, as the CPU backend;
// rope in place on x[M, H, Dh] (rotate-half, one position per row); softmax in place over the last dim.
// attention: out[Tq, H, Dh] = softmax(q·kᵀ·scale + causal mask)·v, k/v[Tk, Hkv, Dh] in f32/bf16/f16.
//   One warp per (query, head); the block's 4 warps share K/V tiles staged in shared memory as f32;
//   online softmax (running max and sum) so a key is read once per block. The key range is split
//   across blocks (flash-decoding) when Tq·H alone cannot fill the GPU — always the case in decode —
//   and a second kernel merges the per-split (max, sum, unnormalised output) triples. Dh <= 512.
#include <algorithm>

#include "kernels/attention_shapes.h"
#include "kernels/cuda/cuda_backend_impl.h"

namespace janus::cuda {

namespace {

constexpr int kRowThreads = 256;

__global__ void rms_norm_kernel(float* y, const float* x, const void* w, DType wt, int64_t D, float eps, bool round) {
    __shared__ double red[32];
    const float* xr = x + blockIdx.x * D;
    float* yr = y + blockIdx.x * D;
    double ss = 0.0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) ss += double(xr[j]) * double(xr[j]);
    ss = block_sum_d(ss, red);
    float inv = float(1.0 / sqrt(ss / double(D) + double(eps)));  // as the CPU backend
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        float v = xr[j] * inv;
        if (round) v = round_bf16_dev(v);
        yr[j] = v * (w ? load_as_f32(w, wt, j) : 1.0f);
    }
}

// Mean and 1/sqrt(var + eps) of n values, two passes in double (the CPU backend's formula).
__device__ __forceinline__ void mean_inv_std(const float* x, int64_t n, float eps, double* red, float* meanf,
                                             float* inv) {
    double s = 0.0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += double(x[j]);
    double mean = block_sum_d(s, red) / double(n);
    double v = 0.0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        double d = double(x[j]) - mean;
        v += d * d;
    }
    *inv = float(1.0 / sqrt(block_sum_d(v, red) / double(n) + double(eps)));
    *meanf = float(mean);
}

__global__ void layer_norm_kernel(float* y, const float* x, const void* w, DType wt, const void* b, DType bt,
                                  int64_t D, float eps) {
    __shared__ double red[32];
    const float* xr = x + blockIdx.x * D;
    float* yr = y + blockIdx.x * D;
    float mean, inv;
    mean_inv_std(xr, D, eps, red, &mean, &inv);
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x)
        yr[j] = (xr[j] - mean) * inv * (w ? load_as_f32(w, wt, j) : 1.0f) + (b ? load_as_f32(b, bt, j) : 0.0f);
}

// One block per (n, g): the group's cpg·HW elements are contiguous.
__global__ void group_norm_kernel(float* y, const float* x, const void* w, DType wt, const void* b, DType bt, int64_t C,
                                  int groups, int64_t HW, float eps, bool swish) {
    __shared__ double red[32];
    int64_t n = blockIdx.x / groups, g = blockIdx.x % groups, cpg = C / groups;
    int64_t base = (n * C + g * cpg) * HW, cnt = cpg * HW;
    const float* xg = x + base;
    float* yg = y + base;
    float mean, inv;
    mean_inv_std(xg, cnt, eps, red, &mean, &inv);
    for (int64_t i = threadIdx.x; i < cnt; i += blockDim.x) {
        int64_t c = g * cpg + i / HW;
        float wc = (w ? load_as_f32(w, wt, c) : 1.0f) * inv, bc = b ? load_as_f32(b, bt, c) : 0.0f;
        float o = (xg[i] - mean) * wc + bc;
        yg[i] = swish ? o / (1.0f + expf(-o)) : o;
    }
}

__global__ void rope_kernel(float* x, const int32_t* pos, const float* inv_freq, int64_t M, int64_t H, int64_t half,
                            bool round) {
    int64_t total = M * H * half;
    for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
        int64_t j = t % half, mh = t / half, m = mh / H;
        float ang = float(pos[m]) * inv_freq[j];
        float c = cosf(ang), s = sinf(ang);
        if (round) {
            c = round_bf16_dev(c);
            s = round_bf16_dev(s);
        }
        float* v = x + mh * 2 * half;
        float x1 = v[j], x2 = v[j + half];
        v[j] = x1 * c - x2 * s;
        v[j + half] = x2 * c + x1 * s;
    }
}

__global__ void softmax_kernel(float* x, int64_t N) {
    __shared__ float red[32];
    __shared__ double redd[32];
    float* v = x + blockIdx.x * N;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < N; j += blockDim.x) mx = fmaxf(mx, v[j]);
    mx = block_max(mx, red);
    if (mx == -INFINITY) {  // fully masked row: zeros, as the CPU backend defines it
        for (int64_t j = threadIdx.x; j < N; j += blockDim.x) v[j] = 0.0f;
        return;
    }
    double s = 0.0;
    for (int64_t j = threadIdx.x; j < N; j += blockDim.x) {
        float e = expf(v[j] - mx);
        v[j] = e;
        s += double(e);
    }
    float inv = float(1.0 / block_sum_d(s, redd));
    for (int64_t j = threadIdx.x; j < N; j += blockDim.x) v[j] *= inv;
}

// ---- attention ---------------------------------------------------------------------------------------
constexpr int kAttnWarps = 4;          // queries per block
constexpr int kAttnSmemFloats = 8192;  // K and V tiles: 2 · TK · Dpad floats (32 KiB)

struct AttnArgs {
    const float* q;
    const void* k;
    const void* v;
    DType kt, vt;
    float* out;
    float* part_o;   // [nsplit, Tq, H, Dh] unnormalised outputs (nsplit > 1)
    float* part_ml;  // [nsplit, Tq, H, 2] running max and sum
    int64_t Tq, H, Hkv, Dh, Tk, causal_start, split_len;
    int nsplit;
    float scale;
};

template <int NJ>  // NJ·32 >= Dh: per-lane slice of a head vector
__global__ void __launch_bounds__(kAttnWarps * 32) attention_kernel(AttnArgs a) {
    constexpr int Dpad = NJ * 32, TK = kAttnSmemFloats / 2 / Dpad;
    __shared__ float ks[TK * Dpad];
    __shared__ float vs[TK * Dpad];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int64_t h = blockIdx.y, z = blockIdx.z, hk = h / (a.H / a.Hkv);
    int64_t i = int64_t(blockIdx.x) * kAttnWarps + warp;
    int64_t i_last = std::min<int64_t>(int64_t(blockIdx.x) * kAttnWarps + kAttnWarps, a.Tq) - 1;
    auto limit_of = [&](int64_t qi) { return a.causal_start < 0 ? a.Tk : std::min(a.Tk, a.causal_start + qi + 1); };
    bool valid = i < a.Tq;
    int64_t lim = valid ? limit_of(i) : 0;
    int64_t kbeg = z * a.split_len, kend = std::min(a.Tk, kbeg + a.split_len);
    int64_t kend_block = std::min(kend, limit_of(i_last));

    float qv[NJ], o[NJ];
#pragma unroll
    for (int jj = 0; jj < NJ; jj++) {
        int64_t d = lane + 32 * jj;
        qv[jj] = (valid && d < a.Dh) ? a.q[(i * a.H + h) * a.Dh + d] : 0.0f;
        o[jj] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int64_t t0 = kbeg; t0 < kend_block; t0 += TK) {
        int nt = int(std::min<int64_t>(TK, kend_block - t0));
        __syncthreads();  // previous tile fully consumed
        for (int e = threadIdx.x; e < nt * a.Dh; e += blockDim.x) {
            int key = e / int(a.Dh), d = e % int(a.Dh);
            int64_t src = ((t0 + key) * a.Hkv + hk) * a.Dh + d;
            ks[key * Dpad + d] = load_as_f32(a.k, a.kt, src);
            vs[key * Dpad + d] = load_as_f32(a.v, a.vt, src);
        }
        __syncthreads();
        int nvis = int(std::min<int64_t>(nt, lim - t0));  // keys of this tile that query i sees
        for (int j = 0; j < nvis; j++) {
            float s = 0.0f;
#pragma unroll
            for (int jj = 0; jj < NJ; jj++)
                if (lane + 32 * jj < a.Dh) s = fmaf(qv[jj], ks[j * Dpad + lane + 32 * jj], s);
            s = warp_sum(s) * a.scale;
            float m_new = fmaxf(m, s);
            float corr = expf(m - m_new), p = expf(s - m_new);
            l = l * corr + p;
#pragma unroll
            for (int jj = 0; jj < NJ; jj++)
                if (lane + 32 * jj < a.Dh) o[jj] = o[jj] * corr + p * vs[j * Dpad + lane + 32 * jj];
            m = m_new;
        }
    }
    if (!valid) return;
    int64_t row = i * a.H + h;
    if (a.nsplit == 1) {
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
        for (int jj = 0; jj < NJ; jj++) {
            int64_t d = lane + 32 * jj;
            if (d < a.Dh) a.out[row * a.Dh + d] = o[jj] * inv;
        }
    } else {
        int64_t prow = z * a.Tq * a.H + row;
#pragma unroll
        for (int jj = 0; jj < NJ; jj++) {
            int64_t d = lane + 32 * jj;
            if (d < a.Dh) a.part_o[prow * a.Dh + d] = o[jj];
        }
        if (lane == 0) {
            a.part_ml[prow * 2] = m;
            a.part_ml[prow * 2 + 1] = l;
        }
    }
}

// One block per (query, head): merge the splits' partial softmax states.
__global__ void attention_combine_kernel(AttnArgs a) {
    int64_t row = blockIdx.x, rows = a.Tq * a.H;
    float M = -INFINITY;
    for (int z = 0; z < a.nsplit; z++) M = fmaxf(M, a.part_ml[(z * rows + row) * 2]);
    float L = 0.0f;
    for (int z = 0; z < a.nsplit; z++) {
        float mz = a.part_ml[(z * rows + row) * 2], lz = a.part_ml[(z * rows + row) * 2 + 1];
        if (lz > 0.0f) L += lz * expf(mz - M);
    }
    float inv = L > 0.0f ? 1.0f / L : 0.0f;
    for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) {
        float acc = 0.0f;
        for (int z = 0; z < a.nsplit; z++) {
            float mz = a.part_ml[(z * rows + row) * 2], lz = a.part_ml[(z * rows + row) * 2 + 1];
            if (lz > 0.0f) acc += a.part_o[(z * rows + row) * a.Dh + d] * expf(mz - M);
        }
        a.out[row * a.Dh + d] = acc * inv;
    }
}

template <int NJ>
void launch_attention(const AttnArgs& a, dim3 grid, cudaStream_t s) {
    attention_kernel<NJ><<<grid, kAttnWarps * 32, 0, s>>>(a);
    JANUS_CUDA_LAUNCH_CHECK("attention_kernel");
}

void check_row_param(const CudaBackend& b, const char* op, const char* arg, const Tensor& t, int64_t n) {
    if (!t.defined()) return;
    check_float(b, op, arg, t);
    check_numel(op, arg, t, n);
}

}  // namespace

void CudaBackend::rms_norm(const Tensor& y, const Tensor& x, const Tensor& w, float eps, bool round) {
    const char* op = "rms_norm";
    check_f32(*this, op, "y", y);
    check_f32(*this, op, "x", x);
    check_same_shape(op, "y", y, "x", x);
    if (x.ndim() < 1) fail(op, "x must have at least one dimension");
    int64_t D = x.dim(-1);
    check_row_param(*this, op, "w", w, D);
    int64_t rows = D ? x.numel() / D : 0;
    if (rows == 0) return;
    activate();
    rms_norm_kernel<<<unsigned(rows), kRowThreads, 0, stream()>>>(y.ptr<float>(), x.ptr<float>(),
                                                                   w.defined() ? w.data() : nullptr, w.dtype(), D, eps,
                                                                   round);
    JANUS_CUDA_LAUNCH_CHECK("rms_norm_kernel");
}

void CudaBackend::layer_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, float eps) {
    const char* op = "layer_norm";
    check_f32(*this, op, "y", y);
    check_f32(*this, op, "x", x);
    check_same_shape(op, "y", y, "x", x);
    if (x.ndim() < 1) fail(op, "x must have at least one dimension");
    int64_t D = x.dim(-1);
    check_row_param(*this, op, "w", w, D);
    check_row_param(*this, op, "b", b, D);
    int64_t rows = D ? x.numel() / D : 0;
    if (rows == 0) return;
    activate();
    layer_norm_kernel<<<unsigned(rows), kRowThreads, 0, stream()>>>(
        y.ptr<float>(), x.ptr<float>(), w.defined() ? w.data() : nullptr, w.dtype(), b.defined() ? b.data() : nullptr,
        b.dtype(), D, eps);
    JANUS_CUDA_LAUNCH_CHECK("layer_norm_kernel");
}

void CudaBackend::group_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, int groups, float eps,
                             bool swish) {
    const char* op = "group_norm";
    check_f32(*this, op, "y", y);
    check_f32(*this, op, "x", x);
    check_same_shape(op, "y", y, "x", x);
    if (x.ndim() < 2) fail(op, "x is " + x.str() + " but must be [N, C, ...]");
    int64_t N = x.dim(0), C = x.dim(1);
    if (groups <= 0 || C % groups != 0)
        fail(op, "groups = " + std::to_string(groups) + " must be positive and divide C = " + std::to_string(C));
    check_row_param(*this, op, "w", w, C);
    check_row_param(*this, op, "b", b, C);
    int64_t HW = (N * C) != 0 ? x.numel() / (N * C) : 0;
    if (N * groups == 0 || HW == 0) return;
    activate();
    group_norm_kernel<<<unsigned(N * groups), 512, 0, stream()>>>(
        y.ptr<float>(), x.ptr<float>(), w.defined() ? w.data() : nullptr, w.dtype(), b.defined() ? b.data() : nullptr,
        b.dtype(), C, groups, HW, eps, swish);
    JANUS_CUDA_LAUNCH_CHECK("group_norm_kernel");
}

void CudaBackend::rope(const Tensor& x, const Tensor& pos_in, const Tensor& inv_freq, bool round) {
    const char* op = "rope";
    check_f32(*this, op, "x", x);
    check_f32(*this, op, "inv_freq", inv_freq);
    if (x.ndim() != 3) fail(op, "x is " + x.str() + " but must be [M, H, Dh]");
    int64_t M = x.dim(0), H = x.dim(1), Dh = x.dim(2);
    if (Dh % 2) fail(op, "head dim " + std::to_string(Dh) + " must be even");
    Tensor pos = device_indices(op, "pos", pos_in);
    check_numel(op, "pos", pos, M);
    check_numel(op, "inv_freq", inv_freq, Dh / 2);
    if (M * H * Dh == 0) return;
    activate();
    rope_kernel<<<grid_for(M * H * (Dh / 2)), 256, 0, stream()>>>(x.ptr<float>(), pos.ptr<int32_t>(),
                                                                   inv_freq.ptr<float>(), M, H, Dh / 2, round);
    JANUS_CUDA_LAUNCH_CHECK("rope_kernel");
}

void CudaBackend::softmax(const Tensor& x) {
    const char* op = "softmax";
    check_f32(*this, op, "x", x);
    if (x.ndim() < 1) fail(op, "x must have at least one dimension");
    int64_t N = x.dim(-1);
    int64_t rows = N ? x.numel() / N : 0;
    if (rows == 0) return;
    activate();
    softmax_kernel<<<unsigned(rows), kRowThreads, 0, stream()>>>(x.ptr<float>(), N);
    JANUS_CUDA_LAUNCH_CHECK("softmax_kernel");
}

void CudaBackend::attention(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                            int64_t causal_start) {
    const char* op = "attention";
    check_f32(*this, op, "out", out);
    check_f32(*this, op, "q", q);
    check_float(*this, op, "k", k);
    check_float(*this, op, "v", v);
    if (std::string e = attention_shape_error(out, q, k, v, causal_start); !e.empty()) fail(op, e);
    const int64_t Tq = q.dim(0), H = q.dim(1), Dh = q.dim(2), Tk = k.dim(0), Hkv = k.dim(1);
    if (Dh > 512) fail(op, "head dim " + std::to_string(Dh) + " is above the CUDA kernel's limit of 512");
    if (H > 65535) fail(op, "more than 65535 heads");
    if (Tq == 0 || Dh == 0) return;
    activate();
    int NJ = Dh <= 64 ? 2 : Dh <= 128 ? 4 : Dh <= 256 ? 8 : 16;
    int TK = kAttnSmemFloats / 2 / (NJ * 32);
    int64_t qblocks = (Tq + kAttnWarps - 1) / kAttnWarps;
    int64_t target = 2 * int64_t(std::max(sm_count(), 1));
    int64_t nsplit = 1;
    if (qblocks * H < target) nsplit = std::min((target + qblocks * H - 1) / (qblocks * H), (Tk + 63) / 64);
    int64_t split_len = (Tk + nsplit - 1) / nsplit;
    split_len = (split_len + TK - 1) / TK * TK;
    nsplit = (Tk + split_len - 1) / split_len;

    AttnArgs a{};
    a.q = q.ptr<float>();
    a.k = k.data();
    a.v = v.data();
    a.kt = k.dtype();
    a.vt = v.dtype();
    a.out = out.ptr<float>();
    a.Tq = Tq;
    a.H = H;
    a.Hkv = Hkv;
    a.Dh = Dh;
    a.Tk = Tk;
    a.causal_start = causal_start;
    a.split_len = split_len;
    a.nsplit = int(nsplit);
    a.scale = scale;
    if (nsplit > 1) {
        size_t o_bytes = (size_t(nsplit * Tq * H * Dh) * 4 + 255) / 256 * 256;
        char* sc = static_cast<char*>(scratch(o_bytes + size_t(nsplit * Tq * H) * 8));
        a.part_o = reinterpret_cast<float*>(sc);
        a.part_ml = reinterpret_cast<float*>(sc + o_bytes);
    }
    if (qblocks > int64_t(INT32_MAX)) fail(op, "too many queries");
    dim3 grid{unsigned(qblocks), unsigned(H), unsigned(nsplit)};
    switch (NJ) {
        case 2: launch_attention<2>(a, grid, stream()); break;
        case 4: launch_attention<4>(a, grid, stream()); break;
        case 8: launch_attention<8>(a, grid, stream()); break;
        default: launch_attention<16>(a, grid, stream()); break;
    }
    if (nsplit > 1) {
        attention_combine_kernel<<<unsigned(Tq * H), 128, 0, stream()>>>(a);
        JANUS_CUDA_LAUNCH_CHECK("attention_combine_kernel");
    }
}

}  // namespace janus::cuda
