// AVX-512 Winograd F(4×4, 3×3) convolution for conv2d's hot case (3×3, stride 1, zero pad 1 — the VQ
// decoder's convolutions, see conv_kernels.h): y[N, Co, H, W] = conv(x[N, Ci, H, W], w[Co, Ci, 3, 3]) + b.
//
// Each 4×4 output tile comes from a 6×6 input patch d: Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A (Lavin & Gray,
// points 0, ±1, ±2, ∞). Summed over input channels, the element-wise product becomes 36 independent
// GEMMs M_ξ[Co, tiles] = U_ξ[Co, Ci] · V_ξ[Ci, tiles] (ξ = one of the 6×6 transform positions): 36·Ci·Co
// multiplies per 16 outputs instead of 144·Ci·Co, i.e. 4× fewer. Layout and order of work:
//  - U (weights, transformed once per call) is packed [36][ceil(Co/6)][Ci][6] so the GEMM micro-kernel
//    broadcasts 6 consecutive output-channel values per input channel.
//  - Tiles (raster order) run along vector lanes: a segment is 16 consecutive tiles. When they lie in
//    one tile row the input transform loads each input row window with masked loads (the zero
//    padding) and splits it into the column phases with permutes (lane j = tile j); segments that
//    straddle tile rows (narrow images) gather per lane instead. The input is read in place.
//  - Per-block mode (larger images): a block of 4 segments (64 tiles) is transformed into V[36][Ci][64];
//    for each ξ the micro-kernel (6 output channels × 4 vectors of 16 tiles, 24 zmm accumulators,
//    fixed Ci order) writes M[36][Co6][64]; the output transform turns each channel's 36 vectors
//    into 4×4 outputs, re-interleaves them into rows (scatter for straddling segments), adds bias.
//    Blocks are split over the threads.
//  - Whole-image mode (< 8 blocks: the decoder's 24² and 48² levels with 256-512 channels): the same
//    three steps over all tiles at once, split over input channels / (ξ, channel block) / output
//    channels, so the large U is read once per call.
// Every output element sees the same arithmetic whichever thread computes it, so results are bitwise
// identical for any thread count. Error: max |y − y_f64| ≤ ~2e-6·Σ|x·w| measured on random data (the
// op table's tolerance is 1e-5·Σ|x·w|); the real-dimension VQ decode stays at ~1.3e-5 of max |ref|.
// Compiled with a target pragma and reached only through the cpuid dispatch in cpu_conv.cpp; uses no
// inline functions from library headers.
#include <algorithm>
#include <vector>

#include "kernels/cpu/conv_kernels.h"

#pragma GCC push_options
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 false positives in masked intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
#ifdef __clang__  // clang ignores GCC target pragmas: same features per function
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))), \
                             apply_to = function)
#endif

#include <immintrin.h>

namespace janus::cpu {

namespace {

constexpr int kCB = 6;    // output channels per micro-kernel tile
constexpr int kSegs = 4;  // segments (vectors of 16 tiles) per micro-kernel tile and per block

// 16 consecutive tiles in raster order (the last segment may hold fewer). `row` is true when they
// all lie in one tile row: then the transforms read and write whole rows with permutes; otherwise
// (narrow images, segments straddling tile rows) they gather and scatter per lane.
struct Segment {
    int32_t t0, n;  // first tile, tiles (1..16)
    int32_t ti, tj0;
    bool row;
};

struct Geometry {
    int64_t Ci, Co, Co6, H, W, th, tw;
};

// ---- 1-D transforms on vectors -----------------------------------------------------------------

// Bᵀ·d for one 6-vector column: o = Bᵀ d.
inline void bt6(const __m512 d[6], __m512 o[6]) {
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
    __m512 a = _mm512_fnmadd_ps(four, d[2], d[4]);  // d4 − 4 d2
    __m512 b = _mm512_fnmadd_ps(four, d[1], d[3]);  // d3 − 4 d1
    __m512 c = _mm512_sub_ps(d[4], d[2]);
    __m512 e = _mm512_mul_ps(two, _mm512_sub_ps(d[3], d[1]));
    o[0] = _mm512_fnmadd_ps(five, d[2], _mm512_fmadd_ps(four, d[0], d[4]));
    o[1] = _mm512_add_ps(a, b);
    o[2] = _mm512_sub_ps(a, b);
    o[3] = _mm512_add_ps(c, e);
    o[4] = _mm512_sub_ps(c, e);
    o[5] = _mm512_fnmadd_ps(five, d[3], _mm512_fmadd_ps(four, d[1], d[5]));
}

// Aᵀ·m for one 6-vector column: 4 outputs.
inline void at6(const __m512 m[6], __m512 y[4]) {
    __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
    y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m[5]);
}

// G·g for one 3-vector column: 6 outputs.
inline void g3(const __m512 g[3], __m512 u[6]) {
    __m512 s02 = _mm512_add_ps(g[0], g[2]);
    u[0] = _mm512_mul_ps(_mm512_set1_ps(0.25f), g[0]);
    u[1] = _mm512_mul_ps(_mm512_set1_ps(-1.0f / 6.0f), _mm512_add_ps(s02, g[1]));
    u[2] = _mm512_mul_ps(_mm512_set1_ps(-1.0f / 6.0f), _mm512_sub_ps(s02, g[1]));
    __m512 t =
        _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 24.0f), g[0], _mm512_mul_ps(_mm512_set1_ps(1.0f / 6.0f), g[2]));
    __m512 h = _mm512_mul_ps(_mm512_set1_ps(1.0f / 12.0f), g[1]);
    u[3] = _mm512_add_ps(t, h);
    u[4] = _mm512_sub_ps(t, h);
    u[5] = g[2];
}

inline __mmask16 lane_mask(int64_t r) {
    return r >= 16 ? __mmask16(0xffff) : r <= 0 ? __mmask16(0) : __mmask16((1u << r) - 1);
}

// ---- weight transform --------------------------------------------------------------------------

// U[ξ][cb][ci][c] = (G g Gᵀ)[ξ] for output channel co = 6·cb + c (zero for Co <= co < Co6), input
// channel ci — so the GEMM micro-kernel reads its 6 broadcast values per ci from consecutive memory.
// Lanes run over 16 input channels of one output channel (9 gathers from 144 consecutive floats);
// the 6 × 36 results of one block of 6 output channels go through a small buffer and are written out
// as 36 runs of 6·16 consecutive floats.
void transform_weights(ThreadPool& pool, const Geometry& g, const float* w, float* U) {
    const int64_t Ci = g.Ci, Co = g.Co, CBn = g.Co6 / kCB;
    const int64_t xi_stride = CBn * Ci * kCB;
    pool.parallel_for(CBn, 1, [&](int64_t b0, int64_t b1) {
        alignas(64) float tmp[kCB][36][16];
        const __m512i lane9 = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(9));
        for (int64_t cb = b0; cb < b1; cb++)
            for (int64_t ci0 = 0; ci0 < Ci; ci0 += 16) {
                const int64_t nl = std::min<int64_t>(16, Ci - ci0);
                for (int c = 0; c < kCB; c++) {
                    const int64_t co = cb * kCB + c;
                    if (co >= Co) {
                        for (int xi = 0; xi < 36; xi++) _mm512_store_ps(tmp[c][xi], _mm512_setzero_ps());
                        continue;
                    }
                    const __mmask16 m = lane_mask(nl);
                    const float* base = w + (co * Ci + ci0) * 9;
                    __m512 k9[3][3];  // k9[r][s], lanes = input channels
                    for (int k = 0; k < 9; k++)
                        k9[k / 3][k % 3] = _mm512_mask_i32gather_ps(
                            _mm512_setzero_ps(), m, _mm512_add_epi32(lane9, _mm512_set1_epi32(k)), base, 4);
                    __m512 t[6][3];  // G·g: t[i][s]
                    for (int s = 0; s < 3; s++) {
                        __m512 col[3] = {k9[0][s], k9[1][s], k9[2][s]}, o[6];
                        g3(col, o);
                        for (int i = 0; i < 6; i++) t[i][s] = o[i];
                    }
                    for (int i = 0; i < 6; i++) {
                        __m512 u[6];
                        g3(t[i], u);  // row i of (G g) Gᵀ
                        for (int j = 0; j < 6; j++) _mm512_store_ps(tmp[c][i * 6 + j], u[j]);
                    }
                }
                for (int xi = 0; xi < 36; xi++) {  // 6·nl consecutive floats per ξ
                    float* dst = U + xi * xi_stride + (cb * Ci + ci0) * kCB;
                    for (int64_t l = 0; l < nl; l++)
                        for (int c = 0; c < kCB; c++) dst[l * kCB + c] = tmp[c][xi][l];
                }
            }
    });
}

// ---- input transform ---------------------------------------------------------------------------

// Row window r[0..65] (66 floats from `src`; lanes outside `m` / the flags read as 0)
// → p_s[j] = r[4j + s], s = 0..5, j = 0..15.
inline void split_phases(const float* src, const __mmask16 m[4], bool in64, bool in65, __m512 p[6]) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 z0 = _mm512_maskz_loadu_ps(m[0], src), z1 = _mm512_maskz_loadu_ps(m[1], src + 16);
    __m512 z2 = _mm512_maskz_loadu_ps(m[2], src + 32), z3 = _mm512_maskz_loadu_ps(m[3], src + 48);
    __m512 e_lo = _mm512_permutex2var_ps(z0, even, z1), o_lo = _mm512_permutex2var_ps(z0, odd, z1);
    __m512 e_hi = _mm512_permutex2var_ps(z2, even, z3), o_hi = _mm512_permutex2var_ps(z2, odd, z3);
    p[0] = _mm512_permutex2var_ps(e_lo, even, e_hi);
    p[2] = _mm512_permutex2var_ps(e_lo, odd, e_hi);
    p[1] = _mm512_permutex2var_ps(o_lo, even, o_hi);
    p[3] = _mm512_permutex2var_ps(o_lo, odd, o_hi);
    const __m512 x64 = _mm512_set1_ps(in64 ? src[64] : 0.0f), x65 = _mm512_set1_ps(in65 ? src[65] : 0.0f);
    p[4] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(x64), _mm512_castps_si512(p[0]), 1));
    p[5] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(x65), _mm512_castps_si512(p[1]), 1));
}

// How one segment reads the unpadded input plane x[H][W]; the zero padding is done with masks.
struct SegRead {
    int64_t ih0 = 0, off = 0;  // row segments: first patch row (4·ti − 1), window start (ih0·W + 4·tj0 − 1)
    __mmask16 m[4] = {0, 0, 0, 0};  // row segments: window lanes inside [0, W)
    bool in64 = false, in65 = false;
    __m512i base;        // gather segments: per-lane patch origin offset
    __mmask16 gm[6][6];  // gather segments: lanes whose (r, s) input lies inside the image
};

SegRead plan_read(const Geometry& g, const Segment& sg) {
    SegRead rd;
    if (sg.row) {
        rd.ih0 = int64_t(sg.ti) * 4 - 1;
        const int64_t col0 = int64_t(sg.tj0) * 4 - 1;
        rd.off = rd.ih0 * g.W + col0;
        for (int k = 0; k < 4; k++) {
            __mmask16 m = 0;
            for (int l = 0; l < 16; l++) {
                const int64_t c = col0 + 16 * k + l;
                if (c >= 0 && c < g.W) m = __mmask16(m | (1u << l));
            }
            rd.m[k] = m;
        }
        rd.in64 = col0 + 64 >= 0 && col0 + 64 < g.W;
        rd.in65 = col0 + 65 >= 0 && col0 + 65 < g.W;
        rd.base = _mm512_setzero_si512();
        return rd;
    }
    alignas(64) int32_t off[16];
    int64_t ih[16], iw[16];
    for (int l = 0; l < 16; l++) {
        const int64_t t = sg.t0 + (l < sg.n ? l : 0);
        ih[l] = (t / g.tw) * 4 - 1, iw[l] = (t % g.tw) * 4 - 1;
        off[l] = int32_t(ih[l] * g.W + iw[l]);
    }
    rd.base = _mm512_load_si512(off);
    for (int r = 0; r < 6; r++)
        for (int s = 0; s < 6; s++) {
            __mmask16 m = 0;
            for (int l = 0; l < sg.n; l++)
                if (ih[l] + r >= 0 && ih[l] + r < g.H && iw[l] + s >= 0 && iw[l] + s < g.W)
                    m = __mmask16(m | (1u << l));
            rd.gm[r][s] = m;
        }
    return rd;
}

// V[ξ·vxs + ci·ldv + 16·v + j] for segments v of `seg`, input channels [c0, c1) of one image x[Ci][H][W].
// Channel-major loop with a software prefetch of the same rows two channels ahead (the hardware
// prefetchers do not follow the plane-sized stride).
void input_transform(const Geometry& g, const float* x, const Segment* seg, int nseg, float* V, int64_t ldv,
                     int64_t vxs, int64_t c0, int64_t c1) {
    const int64_t plane = g.H * g.W;
    for (int v0 = 0; v0 < nseg; v0 += kSegs) {  // groups of up to kSegs segments
        const int v1 = std::min(nseg, v0 + kSegs);
        SegRead rd[kSegs];
        for (int v = v0; v < v1; v++) rd[v - v0] = plan_read(g, seg[v]);
        for (int64_t ci = c0; ci < c1; ci++) {
            const float* xc = x + ci * plane;
            for (int v = v0; v < v1; v++) {
                const SegRead& q = rd[v - v0];
                __m512 t[6][6];  // t[r][k]: row r of the patch, column-transformed
                for (int r = 0; r < 6; r++) {
                    __m512 p[6];
                    if (seg[v].row) {
                        const int64_t ih = q.ih0 + r;
                        if (ih < 0 || ih >= g.H) {
                            for (int k = 0; k < 6; k++) t[r][k] = _mm512_setzero_ps();
                            continue;
                        }
                        const float* src = xc + q.off + r * g.W;
                        if (ci + 2 < c1) {
                            for (int l = 0; l < 5; l++)
                                _mm_prefetch(reinterpret_cast<const char*>(src + 2 * plane + 16 * l),
                                             _MM_HINT_T0);
                        }
                        split_phases(src, q.m, q.in64, q.in65, p);
                    } else {
                        for (int s = 0; s < 6; s++)
                            p[s] = _mm512_mask_i32gather_ps(
                                _mm512_setzero_ps(), q.gm[r][s],
                                _mm512_add_epi32(q.base, _mm512_set1_epi32(int32_t(r * g.W + s))), xc, 4);
                    }
                    bt6(p, t[r]);
                }
                float* dst = V + ci * ldv + 16 * v;
                for (int k = 0; k < 6; k++) {
                    __m512 col[6] = {t[0][k], t[1][k], t[2][k], t[3][k], t[4][k], t[5][k]}, o[6];
                    bt6(col, o);
                    for (int i = 0; i < 6; i++) _mm512_storeu_ps(dst + (i * 6 + k) * vxs, o[i]);
                }
            }
        }
    }
}

// ---- GEMM micro-kernel -------------------------------------------------------------------------

// M[c][16·v + j] = Σ_ci U[ci][c] · V[ci][16·v + j] for 6 output channels c, ci in increasing order.
template <int NV>
void gemm_tile(const float* U, int64_t ldu, const float* V, int64_t ldv, float* M, int64_t ldm, int64_t Ci) {
    __m512 acc[kCB][NV];
#pragma GCC unroll 8
    for (int c = 0; c < kCB; c++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[c][v] = _mm512_setzero_ps();
    for (int64_t ci = 0; ci < Ci; ci++) {
        __m512 x[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) x[v] = _mm512_loadu_ps(V + ci * ldv + 16 * v);
        const float* u = U + ci * ldu;
#pragma GCC unroll 8
        for (int c = 0; c < kCB; c++) {
            __m512 b = _mm512_set1_ps(u[c]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[c][v] = _mm512_fmadd_ps(b, x[v], acc[c][v]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < kCB; c++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(M + c * ldm + 16 * v, acc[c][v]);
}

// One ξ: output-channel blocks [cb0, cb1) × lane vectors [0, nvec).
void gemm_xi(const Geometry& g, const float* Ux, const float* Vx, int64_t ldv, float* Mx, int64_t ldm,
             int64_t cb0, int64_t cb1, int nvec) {
    for (int64_t cb = cb0; cb < cb1; cb++)
        for (int v0 = 0; v0 < nvec; v0 += kSegs) {
            const float* u = Ux + cb * g.Ci * kCB;
            const float* vv = Vx + 16 * v0;
            float* m = Mx + cb * kCB * ldm + 16 * v0;
            switch (std::min(kSegs, nvec - v0)) {
                case 4:
                    gemm_tile<4>(u, kCB, vv, ldv, m, ldm, g.Ci);
                    break;
                case 3:
                    gemm_tile<3>(u, kCB, vv, ldv, m, ldm, g.Ci);
                    break;
                case 2:
                    gemm_tile<2>(u, kCB, vv, ldv, m, ldm, g.Ci);
                    break;
                default:
                    gemm_tile<1>(u, kCB, vv, ldv, m, ldm, g.Ci);
                    break;
            }
        }
}

// ---- output transform --------------------------------------------------------------------------

// q_b[j] = out[4j + b] → out[0..63] stored at dst (masked to `count` floats).
inline void store_interleaved(float* dst, const __m512 q[4], int64_t count) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    __m512 e_lo = _mm512_permutex2var_ps(q[0], lo, q[2]), e_hi = _mm512_permutex2var_ps(q[0], hi, q[2]);
    __m512 o_lo = _mm512_permutex2var_ps(q[1], lo, q[3]), o_hi = _mm512_permutex2var_ps(q[1], hi, q[3]);
    _mm512_mask_storeu_ps(dst, lane_mask(count), _mm512_permutex2var_ps(e_lo, lo, o_lo));
    _mm512_mask_storeu_ps(dst + 16, lane_mask(count - 16), _mm512_permutex2var_ps(e_lo, hi, o_lo));
    _mm512_mask_storeu_ps(dst + 32, lane_mask(count - 32), _mm512_permutex2var_ps(e_hi, lo, o_hi));
    _mm512_mask_storeu_ps(dst + 48, lane_mask(count - 48), _mm512_permutex2var_ps(e_hi, hi, o_hi));
}

// y[co] from M[ξ·mxs + co·ldm + 16·v + j] for segments v of `seg`, output channels [c0, c1).
void output_transform(const Geometry& g, const float* M, int64_t ldm, int64_t mxs, const Segment* seg,
                      int nseg, const float* bias, float* y, int64_t c0, int64_t c1) {
    for (int64_t co = c0; co < c1; co++) {
        const __m512 b = _mm512_set1_ps(bias ? bias[co] : 0.0f);
        float* yc = y + co * g.H * g.W;
        for (int v = 0; v < nseg; v++) {
            const Segment& sg = seg[v];
            const float* src = M + co * ldm + 16 * v;
            __m512 o[6][4];  // o[k1][b]: row k1 of M, column-inverse-transformed
            for (int k1 = 0; k1 < 6; k1++) {
                __m512 m[6];
                for (int k2 = 0; k2 < 6; k2++) m[k2] = _mm512_loadu_ps(src + (k1 * 6 + k2) * mxs);
                at6(m, o[k1]);
            }
            __m512 Y[4][4];  // Y[a][b]
            for (int bc = 0; bc < 4; bc++) {
                __m512 col[6] = {o[0][bc], o[1][bc], o[2][bc], o[3][bc], o[4][bc], o[5][bc]}, r[4];
                at6(col, r);
                for (int a = 0; a < 4; a++) Y[a][bc] = _mm512_add_ps(r[a], b);
            }
            if (sg.row) {
                const int64_t oh0 = int64_t(sg.ti) * 4, ow0 = int64_t(sg.tj0) * 4;
                const int64_t count = std::min<int64_t>(int64_t(sg.n) * 4, g.W - ow0);
                for (int a = 0; a < 4 && oh0 + a < g.H; a++)
                    store_interleaved(yc + (oh0 + a) * g.W + ow0, Y[a], count);
            } else {
                alignas(64) float tmp[16][16];
                for (int a = 0; a < 4; a++)
                    for (int bc = 0; bc < 4; bc++) _mm512_store_ps(tmp[a * 4 + bc], Y[a][bc]);
                for (int l = 0; l < sg.n; l++) {
                    const int64_t t = sg.t0 + l, oh0 = (t / g.tw) * 4, ow0 = (t % g.tw) * 4;
                    for (int a = 0; a < 4 && oh0 + a < g.H; a++)
                        for (int bc = 0; bc < 4 && ow0 + bc < g.W; bc++)
                            yc[(oh0 + a) * g.W + ow0 + bc] = tmp[a * 4 + bc][l];
                }
            }
        }
    }
}

// ---- driver ------------------------------------------------------------------------------------

template <typename T>
T* grow(std::vector<T>& v, size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
}

}  // namespace

void conv3x3_winograd_avx512(ThreadPool& pool, const float* x, const float* w, const float* bias, float* y,
                             int64_t N, int64_t Ci, int64_t Co, int64_t H, int64_t W) {
    Geometry g;
    g.Ci = Ci, g.Co = Co, g.H = H, g.W = W;
    g.Co6 = (Co + kCB - 1) / kCB * kCB;
    g.th = (H + 3) / 4, g.tw = (W + 3) / 4;
    const int64_t T = g.th * g.tw;

    std::vector<Segment> segs;
    for (int64_t t0 = 0; t0 < T; t0 += 16) {
        Segment sg;
        sg.t0 = int32_t(t0), sg.n = int32_t(std::min<int64_t>(16, T - t0));
        sg.ti = int32_t(t0 / g.tw), sg.tj0 = int32_t(t0 % g.tw);
        sg.row = (t0 + sg.n - 1) / g.tw == sg.ti;
        segs.push_back(sg);
    }
    const int64_t nseg = int64_t(segs.size()), blocks = (nseg + kSegs - 1) / kSegs;

    // Scratch kept per thread between calls (no page faults on every conv of a decode).
    static thread_local std::vector<float> U_buf, V_all, M_all;
    float* U = grow(U_buf, size_t(36 * Ci * g.Co6));
    transform_weights(pool, g, w, U);
    const int64_t uxs = Ci * g.Co6;

    // Small images (few blocks, large channel counts: the VQ decoder's 24² and 48² levels): all tiles
    // at once, so U is read once per conv; the three phases are split over channels / ξ instead.
    const bool whole = blocks < 8;
    for (int64_t n = 0; n < N; n++) {
        const float* xn = x + n * Ci * H * W;
        float* yn = y + n * Co * H * W;
        if (whole) {
            const int64_t L = 16 * nseg;
            const int64_t vxs = Ci * L + 16, mxs = g.Co6 * L + 16;  // ξ strides off 4 KiB multiples
            float* V = grow(V_all, size_t(36 * vxs));
            float* M = grow(M_all, size_t(36 * mxs));
            pool.parallel_for(Ci, 4, [&](int64_t c0, int64_t c1) {
                input_transform(g, xn, segs.data(), int(nseg), V, L, vxs, c0, c1);
            });
            const int64_t CBn = g.Co6 / kCB, cbc = 4, chunks = (CBn + cbc - 1) / cbc;
            pool.parallel_for(36 * chunks, 1, [&](int64_t i0, int64_t i1) {
                for (int64_t i = i0; i < i1; i++) {
                    const int64_t xi = i / chunks, cb0 = (i % chunks) * cbc;
                    gemm_xi(g, U + xi * uxs, V + xi * vxs, L, M + xi * mxs, L, cb0, std::min(CBn, cb0 + cbc),
                            int(nseg));
                }
            });
            pool.parallel_for(Co, 4, [&](int64_t c0, int64_t c1) {
                output_transform(g, M, L, mxs, segs.data(), int(nseg), bias, yn, c0, c1);
            });
            continue;
        }
        pool.parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
            static thread_local std::vector<float> V_buf, M_buf;
            const int64_t L = 16 * kSegs, vxs = Ci * L + 16, mxs = g.Co6 * L + 16;
            float* V = grow(V_buf, size_t(36 * vxs));
            float* M = grow(M_buf, size_t(36 * mxs));
            for (int64_t blk = b0; blk < b1; blk++) {
                const Segment* sg = segs.data() + blk * kSegs;
                const int ns = int(std::min<int64_t>(kSegs, nseg - blk * kSegs));
                input_transform(g, xn, sg, ns, V, L, vxs, 0, Ci);
                for (int xi = 0; xi < 36; xi++)
                    gemm_xi(g, U + xi * uxs, V + xi * vxs, L, M + xi * mxs, L, 0, g.Co6 / kCB, ns);
                output_transform(g, M, L, mxs, sg, ns, bias, yn, 0, Co);
            }
        });
    }
}

}  // namespace janus::cpu

#pragma GCC diagnostic pop
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
