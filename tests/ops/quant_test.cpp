// q8_0 / q4_0 weights (kernels/quant.h) and the quantized matmul (kernels/cpu/gemm_quant.h).
//  - Round trips: quantize -> dequantize error <= half a step (d/2) per weight, all-zero groups give
//    exact zeros and scale 0, ±max of a group comes back within the f16 rounding of its scale, one
//    outlier in a group keeps every other weight within d/2 of that group's (large) step; pack/unpack
//    of the planar form is lossless and rejects codes out of range; NaN/Inf name the tensor and row.
//  - Matmul (op table, every backend that has the kernels): against a float64 reference of the
//    dequantized weights times the f32 activations, within the bound the activation quantization
//    allows (|x − s·q| <= s/2 per element: |err| <= Σ_k |w_k|·s_g(k)/2, times 1.01, + 1e-5·Σ|x·w|),
//    and exactly against an independent float64 re-implementation of the integer path
//    (Σ_g d_g·s_g·Σ q_w·q_x, within 2e-6 of Σ|terms|: f32 accumulation only).
//  - Scalar and AVX-512 VNNI kernels agree bit for bit; 1 and 2 threads agree bit for bit.
#include <cmath>
#include <cstring>

#include "janus/error.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/gemm_quant.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/quant.h"
#include "op_test.h"

namespace optest {
namespace {

using janus::kQuantGroup;

Tensor quantized(DType t, const std::vector<float>& w, int64_t N, int64_t K) {
    Tensor q = Tensor::empty(t, {N, K});
    janus::quantize_rows(t, w.data(), N, K, q.data(), "test weight");
    return q;
}

std::vector<float> dequantized(const Tensor& q) {
    const int64_t N = q.dim(0), K = q.dim(1);
    std::vector<float> out(size_t(N * K));
    const size_t rb = janus::quant_row_bytes(q.dtype(), K);
    for (int64_t n = 0; n < N; ++n)
        janus::dequantize_row(q.dtype(), static_cast<const uint8_t*>(q.data()) + size_t(n) * rb, K, out.data() + n * K);
    return out;
}

// Independent scale/code extraction from the planar form.
void planar(const Tensor& q, int64_t n, std::vector<int8_t>* codes, std::vector<uint16_t>* scales) {
    const int64_t K = q.dim(1);
    codes->resize(size_t(K));
    scales->resize(size_t(K / kQuantGroup));
    janus::unpack_row(q.dtype(), static_cast<const uint8_t*>(q.data()) + size_t(n) * janus::quant_row_bytes(q.dtype(), K),
                      K, codes->data(), scales->data());
}

TEST(Quant, RoundTripWithinHalfAStep) {
    for (DType t : {DType::q8_0, DType::q4_0}) {
        const int64_t N = 5, K = 96;  // 3 groups per row, one panel with padding
        std::vector<float> w = uniform(size_t(N * K), 3, -2.0f, 2.0f);
        for (int64_t k = 0; k < kQuantGroup; ++k) w[size_t(K + k)] = 0.0f;          // row 1: an all-zero group
        w[size_t(2 * K + 5)] = 37.0f;                                                  // row 2: one outlier
        w[size_t(3 * K + 40)] = -2.5f;                                                 // row 3: the group's -max
        Tensor q = quantized(t, w, N, K);
        std::vector<float> back = dequantized(q);
        for (int64_t n = 0; n < N; ++n) {
            std::vector<int8_t> codes;
            std::vector<uint16_t> scales;
            planar(q, n, &codes, &scales);
            for (int64_t k = 0; k < K; ++k) {
                const double d = janus::f16_to_f32(scales[size_t(k / kQuantGroup)]);
                const double v = w[size_t(n * K + k)], got = back[size_t(n * K + k)];
                // q4_0's step spans [-8d, 7d]: the extreme maps to -8 exactly; the other end may clamp at 7.
                double amax = 0;
                for (int64_t e = 0; e < kQuantGroup; ++e)
                    amax = std::max(amax, std::fabs(double(w[size_t(n * K + k / kQuantGroup * kQuantGroup + e)])));
                const double f16_slack = amax * std::ldexp(1.0, -10);
                const double bound = t == DType::q8_0 ? d / 2 + f16_slack : std::max(d / 2, std::fabs(v) - 7 * d) + f16_slack;
                EXPECT_LE(std::fabs(got - v), bound) << janus::dtype_name(t) << " row " << n << " k " << k;
            }
        }
        for (int64_t k = 0; k < kQuantGroup; ++k) EXPECT_EQ(back[size_t(K + k)], 0.0f) << "all-zero group";
        std::vector<int8_t> codes;
        std::vector<uint16_t> scales;
        planar(q, 1, &codes, &scales);
        EXPECT_EQ(scales[0], 0) << "all-zero group has scale 0";
        // ±max: the group's extreme comes back within the f16 rounding of the scale.
        EXPECT_NEAR(back[size_t(3 * K + 40)], -2.5f, 2.5 * std::ldexp(1.0, -10));
        EXPECT_NEAR(back[size_t(2 * K + 5)], 37.0f, 37.0 * std::ldexp(1.0, -10));
    }
}

TEST(Quant, PackUnpackIsLosslessAndChecksCodes) {
    for (DType t : {DType::q8_0, DType::q4_0}) {
        const int64_t K = 1056;  // two panels + two groups
        std::vector<int8_t> codes(static_cast<size_t>(K));
        std::vector<uint16_t> scales(static_cast<size_t>(K / kQuantGroup));
        for (int64_t k = 0; k < K; ++k) codes[size_t(k)] = int8_t(t == DType::q8_0 ? (k * 37) % 255 - 127 : (k * 7) % 16);
        for (size_t g = 0; g < scales.size(); ++g) scales[g] = janus::f32_to_f16(0.01f * float(g + 1));
        std::vector<uint8_t> row(janus::quant_row_bytes(t, K));
        janus::pack_row(t, codes.data(), scales.data(), K, row.data());
        std::vector<int8_t> c2(static_cast<size_t>(K));
        std::vector<uint16_t> s2(scales.size());
        janus::unpack_row(t, row.data(), K, c2.data(), s2.data());
        EXPECT_EQ(c2, codes);
        EXPECT_EQ(s2, scales);
        codes[7] = t == DType::q8_0 ? -128 : 16;
        EXPECT_THROW(janus::pack_row(t, codes.data(), scales.data(), K, row.data()), janus::Error);
    }
    EXPECT_EQ(janus::quant_row_bytes(DType::q8_0, 2048), size_t(2048 + 2048 / 32 * 2));
    EXPECT_EQ(janus::quant_row_bytes(DType::q4_0, 2048), size_t(1024 + 2048 / 32 * 2));
    EXPECT_EQ(janus::quant_row_bytes(DType::q8_0, 96), size_t(512 + 16 * 2));  // padded to one panel
}

TEST(Quant, NonFiniteWeightsAndBadShapesAreClearErrors) {
    for (float bad : {NAN, INFINITY, -INFINITY}) {
        std::vector<float> w(64, 0.5f);
        w[40] = bad;
        try {
            quantized(DType::q4_0, w, 2, 32);
            ADD_FAILURE() << "no error for " << bad;
        } catch (const janus::Error& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("test weight"), std::string::npos) << m;
            EXPECT_NE(m.find("row 1"), std::string::npos) << m;
        }
    }
    std::vector<float> w(40, 1.0f);
    EXPECT_THROW(quantized(DType::q8_0, w, 1, 40), janus::Error);  // K % 32 != 0
    std::vector<float> huge(32, 1e10f);
    EXPECT_THROW(quantized(DType::q8_0, huge, 1, 32), janus::Error);  // scale beyond f16
}

// ---- matmul ---------------------------------------------------------------------------------------
struct QSpec {
    int M, N, K;
    DType t;
    bool bias, accumulate;
};

void quant_matmul_case(Backend& be, const QSpec& s) {
    if (be.device().kind != janus::DeviceKind::cpu) GTEST_SKIP() << "q8_0/q4_0 kernels exist on the CPU only (so far)";
    const int M = s.M, N = s.N, K = s.K;
    std::vector<float> x = uniform(size_t(M) * K, 17 + M + K);
    for (int k = 0; k < K; k += 97) x[size_t(k)] *= 9.0f;  // uneven group maxima
    std::vector<float> w = uniform(size_t(N) * K, 29 + N + K);
    std::vector<float> bias = uniform(size_t(N), 31 + N), y0 = uniform(size_t(M) * N, 37 + M, -2, 2);
    Tensor hq = quantized(s.t, w, N, K);
    std::vector<float> wd = dequantized(hq);
    Tensor hx = host_tensor(DType::f32, {M, K}, x), hb = host_tensor(DType::f32, {N}, bias);
    Tensor ty = alloc_on(be, DType::f32, {M, N});
    if (s.accumulate) be.copy(ty, to_backend(be, host_tensor(DType::f32, {M, N}, y0)));
    be.matmul(ty, to_backend(be, hx), to_backend(be, hq), s.bias ? to_backend(be, hb) : Tensor(),
              janus::MatmulPrecision::f32, s.accumulate);
    const std::vector<float> got = fetch(be, ty);

    std::vector<double> ref(size_t(M) * N), bound(size_t(M) * N), exact(size_t(M) * N), terms(size_t(M) * N);
    const int G = K / kQuantGroup;
    for (int m = 0; m < M; ++m) {
        // The activation quantization, re-implemented: s = amax/127 (f32), q = round-half-even(x·127/amax).
        std::vector<double> sx(static_cast<size_t>(G));
        std::vector<int> qx(static_cast<size_t>(K));
        for (int g = 0; g < G; ++g) {
            float amax = 0;
            for (int i = 0; i < kQuantGroup; ++i) amax = std::max(amax, std::fabs(x[size_t(m * K + g * kQuantGroup + i)]));
            sx[size_t(g)] = double(amax / 127.0f);
            const float inv = amax > 0 ? 127.0f / amax : 0.0f;
            for (int i = 0; i < kQuantGroup; ++i)
                qx[size_t(g * kQuantGroup + i)] = int(std::nearbyint(x[size_t(m * K + g * kQuantGroup + i)] * inv));
        }
        for (int n = 0; n < N; ++n) {
            std::vector<int8_t> codes;
            std::vector<uint16_t> scales;
            planar(hq, n, &codes, &scales);
            double acc = 0, b = 0, mag = 0, ex = 0, term_mag = 0;
            for (int g = 0; g < G; ++g) {
                long long dot = 0;
                for (int i = 0; i < kQuantGroup; ++i) {
                    const int k = g * kQuantGroup + i;
                    const double wv = wd[size_t(n * K + k)], xv = x[size_t(m * K + k)];
                    acc += wv * xv;
                    mag += std::fabs(wv * xv);
                    b += std::fabs(wv) * sx[size_t(g)] / 2;
                    const int cw = s.t == DType::q8_0 ? codes[size_t(k)] : codes[size_t(k)] - 8;
                    dot += (long long)cw * qx[size_t(k)];
                }
                const double t = double(float(double(janus::f16_to_f32(scales[size_t(g)])) * sx[size_t(g)])) * double(dot);
                ex += t;
                term_mag += std::fabs(t);
            }
            double extra = 0;
            if (s.bias) extra += bias[size_t(n)];
            if (s.accumulate) extra += y0[size_t(m * N + n)];
            ref[size_t(m * N + n)] = acc + extra;
            bound[size_t(m * N + n)] = 1.01 * b + 1e-5 * (mag + std::fabs(extra));
            exact[size_t(m * N + n)] = ex + extra;
            terms[size_t(m * N + n)] = 2e-6 * (term_mag + std::fabs(extra)) / 1e-5;  // scaled for srel below
        }
    }
    Tol t1;
    t1.atol = 1e-6;
    t1.srel = 1.0;
    expect_close(got, ref, t1, std::string("quant matmul vs float64 of the dequantized weights"), bound);
    Tol t2;
    t2.atol = 1e-6;
    t2.srel = 1e-5;
    expect_close(got, exact, t2, std::string("quant matmul vs the integer path in float64"), terms);
}

std::string qname(const QSpec& s) {
    std::string n = std::string("matmul_") + janus::dtype_name(s.t) + "_M" + std::to_string(s.M) + "_N" +
                    std::to_string(s.N) + "_K" + std::to_string(s.K);
    if (s.bias) n += "_bias";
    if (s.accumulate) n += "_acc";
    return n;
}

bool register_quant_cases() {
    struct Sz { int M, N, K; };
    // GEMV, a K with a padded panel (K = 96: 3 groups of 16), CFG-sized M, the 1B LM's K, and a K that
    // is not a multiple of the 512-weight panel (11008 = 21.5 panels, the 7B MLP).
    const Sz sizes[] = {{1, 33, 96}, {1, 64, 2048}, {2, 17, 544}, {7, 19, 1056}, {32, 24, 512}, {3, 5, 11008}};
    for (const Sz& z : sizes)
        for (DType t : {DType::q8_0, DType::q4_0})
            for (int v = 0; v < 3; ++v) {
                QSpec s{z.M, z.N, z.K, t, v == 1, v == 2};
                add_case(qname(s), [s](Backend& be) { quant_matmul_case(be, s); });
            }
    return true;
}
const bool kQuantRegistered = register_quant_cases();

TEST(Quant, ScalarAndVnniKernelsAgreeBitwiseAndThreadCountsToo) {
    using namespace janus::cpu;
    for (DType t : {DType::q8_0, DType::q4_0}) {
        const int64_t M = 3, N = 37, K = 1568;
        std::vector<float> x = uniform(size_t(M * K), 5), w = uniform(size_t(N * K), 6);
        Tensor q = quantized(t, w, N, K);
        ThreadPool pool1(1), pool2(2);
        QuantizedRows a1, a2;
        quantize_activations(pool1, x.data(), M, K, t, &a1);
        quantize_activations(pool2, x.data(), M, K, t, &a2);
        EXPECT_EQ(a1.codes, a2.codes);
        std::vector<float> c_scalar(size_t(M * N)), c_vnni(size_t(M * N)), c_pool(size_t(M * N));
        QuantGemm g;
        g.a = &a1;
        g.w = static_cast<const uint8_t*>(q.data());
        g.wtype = t;
        g.N = N;
        g.c = c_scalar.data();
        quant_kernel_scalar()(g, 0, N);
        QuantKernel vnni = quant_kernel_avx512vnni();
        if (vnni) {
            g.c = c_vnni.data();
            vnni(g, 0, N);
            expect_bitwise(c_vnni, c_scalar, std::string("VNNI vs scalar ") + janus::dtype_name(t));
        }
        g.c = c_pool.data();
        gemm_quant(pool2, g);
        expect_bitwise(c_pool, c_scalar, std::string("2 threads vs 1 ") + janus::dtype_name(t));
    }
}

}  // namespace
}  // namespace optest
