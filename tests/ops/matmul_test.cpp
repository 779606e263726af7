// Op table cases: embedding gather (table [V, D] f32/bf16/f16, ids i32 [n]) and matmul
// y[M, N] (=|+=) x[M, K]·w[N, K]ᵀ (+ bias[N]) for f32/bf16/f16 weights, f32 and bf16 precision, with
// and without bias and accumulate, GEMV (M = 1), small-M GEMM (M = 32), odd sizes and a prefill-like
// block. Reference: float64 sums of the exact stored operands (x rounded to bf16 for precision bf16).
// Tolerance: |err| <= 1e-5·Σ|x·w| + 1e-6 per element (f32 accumulation, ≈ sqrt(K)·2^-24 relative to
// the absolute sum in practice), plus NMSE <= 1e-10.
#include "op_test.h"

namespace optest {
namespace {

using janus::MatmulPrecision;

void embedding_case(Backend& be, DType dt, int V, int D, int n) {
    std::vector<float> table = uniform(size_t(V) * D, 11 + V);
    Tensor ht = host_tensor(dt, {V, D}, table);
    std::vector<int32_t> ids(n);
    std::mt19937 rng(5);
    for (int i = 0; i < n; i++) ids[i] = int32_t(rng() % uint32_t(V));
    ids[0] = 0;
    ids[n - 1] = V - 1;
    Tensor t = to_backend(be, ht), id = to_backend(be, host_i32({n}, ids));
    Tensor out = alloc_on(be, DType::f32, {n, D});
    be.embedding(out, t, id);
    std::vector<double> ref(size_t(n) * D);
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d++) ref[size_t(i) * D + d] = table[size_t(ids[i]) * D + d];
    expect_close(fetch(be, out), ref, Tol{}, "embedding (exact)");

    for (int32_t bad : {V, -1}) {
        std::vector<int32_t> b = ids;
        b[n / 2] = bad;
        Tensor bid = to_backend(be, host_i32({n}, b));
        EXPECT_THROW(be.embedding(out, t, bid), janus::Error) << "id " << bad << " must be rejected";
    }
}

OP_CASE("embedding_f32", [](Backend& be) { embedding_case(be, DType::f32, 50, 37, 9); });
OP_CASE("embedding_bf16", [](Backend& be) { embedding_case(be, DType::bf16, 97, 64, 5); });
OP_CASE("embedding_f16", [](Backend& be) { embedding_case(be, DType::f16, 13, 8, 1); });

struct MatmulSpec {
    int M, N, K;
    DType wtype;
    MatmulPrecision prec;
    bool bias, accumulate;
};

void matmul_case(Backend& be, const MatmulSpec& s) {
    const int M = s.M, N = s.N, K = s.K;
    std::vector<float> x = uniform(size_t(M) * K, 100 + M * 7 + K);
    std::vector<float> w = uniform(size_t(N) * K, 200 + N * 3 + K);
    std::vector<float> bias = uniform(size_t(N), 300 + N);
    std::vector<float> y0 = uniform(size_t(M) * N, 400 + M + N, -2, 2);
    Tensor hx = host_tensor(DType::f32, {M, K}, x);
    Tensor hw = host_tensor(s.wtype, {N, K}, w);
    Tensor hb = host_tensor(s.wtype, {N}, bias);  // biases come in the checkpoint dtype
    Tensor hy0 = host_tensor(DType::f32, {M, N}, y0);
    Tensor tx = to_backend(be, hx), tw = to_backend(be, hw), tb = s.bias ? to_backend(be, hb) : Tensor();
    Tensor ty = alloc_on(be, DType::f32, {M, N});
    if (s.accumulate) be.copy(ty, to_backend(be, hy0));
    be.matmul(ty, tx, tw, tb, s.prec, s.accumulate);

    std::vector<double> ref(size_t(M) * N), mag(size_t(M) * N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0, abs_sum = 0;
            for (int k = 0; k < K; k++) {
                double xv = x[size_t(m) * K + k];
                if (s.prec == MatmulPrecision::bf16) xv = ref_round_bf16(xv);
                double p = xv * double(w[size_t(n) * K + k]);
                acc += p;
                abs_sum += std::fabs(p);
            }
            if (s.bias) acc += bias[n], abs_sum += std::fabs(bias[n]);
            if (s.accumulate) acc += y0[size_t(m) * N + n], abs_sum += std::fabs(y0[size_t(m) * N + n]);
            ref[size_t(m) * N + n] = acc;
            mag[size_t(m) * N + n] = abs_sum;
        }
    Tol tol;
    tol.atol = 1e-6;
    tol.srel = 1e-5;
    tol.nmse = 1e-10;
    expect_close(fetch(be, ty), ref, tol, "matmul", mag);
}

std::string matmul_name(const MatmulSpec& s) {
    std::string n = "matmul_M" + std::to_string(s.M) + "_N" + std::to_string(s.N) + "_K" + std::to_string(s.K) + "_w" +
                    janus::dtype_name(s.wtype) + (s.prec == MatmulPrecision::bf16 ? "_pbf16" : "_pf32");
    if (s.bias) n += "_bias";
    if (s.accumulate) n += "_acc";
    return n;
}

bool register_matmul_cases() {
    struct Sz { int M, N, K; };
    // GEMV (decode), odd GEMV, CFG batch (M = 32), odd GEMM, a prefill-like block that crosses the
    // kernels' tile boundaries, K not a multiple of any vector width, and a K long enough for the
    // kernels' long-K loop order (A tile no longer in L1).
    // f32 weights with M >= 32 take the AVX-512 packed kernel: {130, 70, 300} has row-panel and
    // weight-block tails, {40, 13, 2100} three K blocks (1024, 1024, 52) and a 1-row weight block.
    const Sz sizes[] = {{1, 64, 128}, {1, 33, 65}, {32, 96, 256}, {7, 33, 65}, {130, 70, 300}, {3, 17, 1030},
                        {8, 20, 2100}, {40, 13, 2100}};
    for (const Sz& z : sizes)
        for (DType wt : {DType::f32, DType::bf16, DType::f16})
            for (MatmulPrecision p : {MatmulPrecision::f32, MatmulPrecision::bf16})
                for (int variant = 0; variant < 3; variant++) {
                    MatmulSpec s{z.M, z.N, z.K, wt, p, variant == 1, variant == 2};
                    add_case(matmul_name(s), [s](Backend& be) { matmul_case(be, s); });
                }
    // Bias and accumulate together, on the bf16 fast path.
    for (int M : {1, 32}) {
        MatmulSpec s{M, 48, 512, DType::bf16, MatmulPrecision::bf16, true, true};
        add_case(matmul_name(s), [s](Backend& be) { matmul_case(be, s); });
    }
    // x with leading dims: [2, 3, K] · w -> [2, 3, N].
    add_case("matmul_batched_leading_dims", [](Backend& be) {
        std::vector<float> x = uniform(2 * 3 * 40, 1), w = uniform(24 * 40, 2);
        Tensor tx = to_backend(be, host_tensor(DType::f32, {2, 3, 40}, x));
        Tensor tw = to_backend(be, host_tensor(DType::bf16, {24, 40}, w));
        Tensor ty = alloc_on(be, DType::f32, {2, 3, 24});
        be.matmul(ty, tx, tw, Tensor(), MatmulPrecision::f32, false);
        std::vector<double> ref(6 * 24), mag(6 * 24);
        for (int m = 0; m < 6; m++)
            for (int n = 0; n < 24; n++)
                for (int k = 0; k < 40; k++) {
                    ref[m * 24 + n] += double(x[m * 40 + k]) * w[n * 40 + k];
                    mag[m * 24 + n] += std::fabs(double(x[m * 40 + k]) * w[n * 40 + k]);
                }
        expect_close(fetch(be, ty), ref, Tol{1e-6, 0, 1e-5, 1e-10}, "matmul [2,3,K]", mag);
    });
    return true;
}
const bool matmul_registered = register_matmul_cases();

// ---- shape errors ----------------------------------------------------------------------------------
OP_CASE("matmul_bad_shapes_throw", [](Backend& be) {
    std::vector<float> v = uniform(64 * 64, 3);
    std::vector<float> a(v.begin(), v.begin() + 4 * 8), b(v.begin(), v.begin() + 5 * 8), c(v.begin(), v.begin() + 4 * 7);
    Tensor x = to_backend(be, host_tensor(DType::f32, {4, 8}, a));
    Tensor w = to_backend(be, host_tensor(DType::f32, {5, 8}, b));
    Tensor w_badk = to_backend(be, host_tensor(DType::f32, {4, 7}, c));
    Tensor y = alloc_on(be, DType::f32, {4, 5});
    Tensor y_bad = alloc_on(be, DType::f32, {4, 6});
    std::vector<float> bb(v.begin(), v.begin() + 6);
    Tensor bias_bad = to_backend(be, host_tensor(DType::f32, {6}, bb));
    EXPECT_THROW(be.matmul(y, x, w_badk, Tensor()), janus::Error) << "K mismatch";
    EXPECT_THROW(be.matmul(y_bad, x, w, Tensor()), janus::Error) << "y shape";
    EXPECT_THROW(be.matmul(y, x, w, bias_bad), janus::Error) << "bias size";
    Tensor y_bf16 = alloc_on(be, DType::bf16, {4, 5});
    EXPECT_THROW(be.matmul(y_bf16, x, w, Tensor()), janus::Error) << "y must be f32";
    Tensor w3 = to_backend(be, host_tensor(DType::f32, {1, 5, 8}, b));
    EXPECT_THROW(be.matmul(y, x, w3, Tensor()), janus::Error) << "w must be 2-D";
});

OP_CASE("embedding_bad_shapes_throw", [](Backend& be) {
    std::vector<float> t = uniform(10 * 4, 4);
    Tensor table = to_backend(be, host_tensor(DType::f32, {10, 4}, t));
    Tensor ids = to_backend(be, host_i32({3}, {1, 2, 3}));
    Tensor out_bad = alloc_on(be, DType::f32, {3, 5});
    EXPECT_THROW(be.embedding(out_bad, table, ids), janus::Error);
    std::vector<float> fids = {1, 2, 3};
    Tensor ids_f32 = to_backend(be, host_tensor(DType::f32, {3}, fids));
    Tensor out = alloc_on(be, DType::f32, {3, 4});
    EXPECT_THROW(be.embedding(out, table, ids_f32), janus::Error) << "ids must be i32";
});

}  // namespace
}  // namespace optest
