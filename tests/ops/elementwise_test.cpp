// Op table cases: silu, exact-erf gelu, add/mul (equal shapes, row broadcast, in place), scale,
// swiglu, round_to_bf16 (ties, NaN, inf, subnormals) and convert between f32/bf16/f16, against
// float64 references and an independent rounding routine (op_test.cpp: frexp/ldexp based).
// Tolerance: 2e-6 relative + 1e-7 absolute for transcendental ops (f32 exp/erf), exact otherwise.
#include <cstring>

#include "op_test.h"

namespace optest {
namespace {

enum class Unary { silu, gelu, scale };

void unary_case(Backend& be, Unary op, int n, bool in_place, float range = 9) {
    std::vector<float> x = uniform(size_t(n), 81 + n, -range, range);
    Tensor tx = to_backend(be, host_tensor(DType::f32, {n}, x));
    Tensor ty = in_place ? tx : alloc_on(be, DType::f32, {n});
    const float s = -0.37f;
    if (op == Unary::silu) be.silu(ty, tx);
    if (op == Unary::gelu) be.gelu(ty, tx);
    if (op == Unary::scale) be.scale(ty, tx, s);
    std::vector<double> ref(x.size());
    for (size_t i = 0; i < x.size(); i++) {
        double v = x[i];
        ref[i] = op == Unary::silu ? v / (1 + std::exp(-v))
               : op == Unary::gelu ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
                                   : v * double(s);
    }
    expect_close(fetch(be, ty), ref, op == Unary::scale ? Tol{0, 1e-7} : Tol{1e-7, 2e-6}, "unary");
}
OP_CASE("silu_n1000", [](Backend& be) { unary_case(be, Unary::silu, 1000, false); });
OP_CASE("silu_n70000_inplace", [](Backend& be) { unary_case(be, Unary::silu, 70000, true); });
OP_CASE("silu_wide_range", [](Backend& be) { unary_case(be, Unary::silu, 4099, false, 120); });
OP_CASE("gelu_wide_range", [](Backend& be) { unary_case(be, Unary::gelu, 4099, false, 40); });
OP_CASE("gelu_n1001", [](Backend& be) { unary_case(be, Unary::gelu, 1001, false); });
OP_CASE("gelu_n3_inplace", [](Backend& be) { unary_case(be, Unary::gelu, 3, true); });
OP_CASE("scale_n555", [](Backend& be) { unary_case(be, Unary::scale, 555, false); });

void binary_case(Backend& be, bool is_mul, bool broadcast, bool in_place) {
    const int M = 7, N = 301;
    std::vector<float> a = uniform(size_t(M) * N, 91, -3, 3), b = uniform(broadcast ? N : size_t(M) * N, 92, -3, 3);
    Tensor ta = to_backend(be, host_tensor(DType::f32, {M, N}, a));
    Tensor tb = broadcast ? to_backend(be, host_tensor(DType::f32, {N}, b))
                          : to_backend(be, host_tensor(DType::f32, {M, N}, b));
    Tensor ty = in_place ? ta : alloc_on(be, DType::f32, {M, N});
    if (is_mul) be.mul(ty, ta, tb);
    else be.add(ty, ta, tb);
    std::vector<double> ref(a.size());
    for (int m = 0; m < M; m++)
        for (int j = 0; j < N; j++) {
            double bv = b[broadcast ? j : size_t(m) * N + j];
            ref[size_t(m) * N + j] = is_mul ? a[size_t(m) * N + j] * bv : a[size_t(m) * N + j] + bv;
        }
    // One f32 rounding of the exact result: within 2^-24 relative.
    expect_close(fetch(be, ty), ref, Tol{0, 6e-8}, is_mul ? "mul" : "add");
}
OP_CASE("add_same_shape", [](Backend& be) { binary_case(be, false, false, false); });
OP_CASE("add_row_broadcast", [](Backend& be) { binary_case(be, false, true, false); });
OP_CASE("add_in_place", [](Backend& be) { binary_case(be, false, false, true); });
OP_CASE("mul_same_shape", [](Backend& be) { binary_case(be, true, false, false); });
OP_CASE("mul_row_broadcast_in_place", [](Backend& be) { binary_case(be, true, true, true); });

void swiglu_case(Backend& be, int M, int F, bool in_place) {
    std::vector<float> g = uniform(size_t(M) * F, 101, -6, 6), u = uniform(size_t(M) * F, 102, -2, 2);
    Tensor tg = to_backend(be, host_tensor(DType::f32, {M, F}, g));
    Tensor tu = to_backend(be, host_tensor(DType::f32, {M, F}, u));
    Tensor ty = in_place ? tg : alloc_on(be, DType::f32, {M, F});
    be.swiglu(ty, tg, tu);
    std::vector<double> ref(g.size());
    for (size_t i = 0; i < g.size(); i++) ref[i] = double(g[i]) / (1 + std::exp(-double(g[i]))) * u[i];
    expect_close(fetch(be, ty), ref, Tol{1e-7, 3e-6}, "swiglu");
}
OP_CASE("swiglu_M3_F5632", [](Backend& be) { swiglu_case(be, 3, 5632, false); });
OP_CASE("swiglu_in_place", [](Backend& be) { swiglu_case(be, 2, 77, true); });

std::vector<float> rounding_inputs() {
    std::vector<float> v = uniform(4000, 111, -1e4f, 1e4f);
    std::vector<float> small = uniform(500, 112, -1e-3f, 1e-3f);
    v.insert(v.end(), small.begin(), small.end());
    // Exact bf16 and f16 ties (a representable value plus half a step), both parities.
    for (uint32_t hi : {0x3f80u, 0x3f81u, 0xc2f7u, 0x4480u}) {
        uint32_t u = (hi << 16) | 0x8000u;
        float f;
        std::memcpy(&f, &u, 4);
        v.push_back(f);
    }
    for (float f : {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f, 65519.0f, 65520.0f, 1e5f, 6e-8f, 3e-8f,
                    1e-40f, -1e-39f, 3.3e38f, 3.4e38f, 0.0f, -0.0f, INFINITY, -INFINITY})
        v.push_back(f);
    return v;
}

OP_CASE("round_to_bf16_ties_and_specials", [](Backend& be) {
    std::vector<float> v = rounding_inputs();
    v.push_back(NAN);
    int n = int(v.size());
    Tensor t = to_backend(be, host_tensor(DType::f32, {n}, v));
    be.round_to_bf16(t);
    std::vector<double> ref(v.size());
    for (size_t i = 0; i < v.size(); i++) ref[i] = ref_round_bf16(v[i]);
    expect_close(fetch(be, t), ref, Tol{}, "round_to_bf16 (exact)");
});

void convert_case(Backend& be, DType from, DType to) {
    std::vector<float> v = rounding_inputs();
    int n = int(v.size());
    Tensor src = to_backend(be, host_tensor(from, {n}, v));  // v now holds the stored values
    Tensor dst = alloc_on(be, to, {n});
    be.convert(dst, src);
    std::vector<double> ref(v.size());
    for (size_t i = 0; i < v.size(); i++)
        ref[i] = to == DType::bf16 ? ref_round_bf16(v[i]) : to == DType::f16 ? ref_round_f16(v[i]) : double(v[i]);
    expect_close(fetch(be, dst), ref, Tol{},
                 std::string("convert ") + janus::dtype_name(from) + " -> " + janus::dtype_name(to) + " (exact)");
}
OP_CASE("convert_f32_to_bf16", [](Backend& be) { convert_case(be, DType::f32, DType::bf16); });
OP_CASE("convert_f32_to_f16", [](Backend& be) { convert_case(be, DType::f32, DType::f16); });
OP_CASE("convert_bf16_to_f32", [](Backend& be) { convert_case(be, DType::bf16, DType::f32); });
OP_CASE("convert_f16_to_f32", [](Backend& be) { convert_case(be, DType::f16, DType::f32); });
OP_CASE("convert_bf16_to_f16", [](Backend& be) { convert_case(be, DType::bf16, DType::f16); });
OP_CASE("convert_f32_to_f32", [](Backend& be) { convert_case(be, DType::f32, DType::f32); });

OP_CASE("elementwise_bad_shapes_throw", [](Backend& be) {
    std::vector<float> a = uniform(12, 1), b = uniform(5, 2), c = uniform(12, 3);
    Tensor ta = to_backend(be, host_tensor(DType::f32, {3, 4}, a));
    Tensor tb = to_backend(be, host_tensor(DType::f32, {5}, b));
    Tensor tc = to_backend(be, host_tensor(DType::f32, {4, 3}, c));
    Tensor y = alloc_on(be, DType::f32, {3, 4});
    EXPECT_THROW(be.add(y, ta, tb), janus::Error) << "broadcast vector of the wrong length";
    EXPECT_THROW(be.mul(y, ta, tc), janus::Error) << "[3,4] * [4,3]";
    Tensor y_bad = alloc_on(be, DType::f32, {12});
    EXPECT_THROW(be.silu(y_bad, ta), janus::Error);
    EXPECT_THROW(be.swiglu(y, ta, tc), janus::Error);
    Tensor d = alloc_on(be, DType::bf16, {11});
    EXPECT_THROW(be.convert(d, ta), janus::Error) << "numel mismatch";
    Tensor hb = alloc_on(be, DType::bf16, {3, 4});
    EXPECT_THROW(be.round_to_bf16(hb), janus::Error) << "round_to_bf16 needs f32";
});

}  // namespace
}  // namespace optest
