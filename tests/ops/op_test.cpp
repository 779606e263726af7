// The op test table's driver: backend list, the parameterised gtest over (backend × case), and the
// helpers declared in op_test.h (inputs, independent reference roundings, tolerant comparison).
#include "op_test.h"

#include <algorithm>
#include <cfloat>
#include <cstring>
#include <memory>

#include "kernels/cpu/cpu_backend.h"
#ifdef JANUS_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

namespace optest {

std::vector<OpCase>& op_cases() {
    static std::vector<OpCase> cases;
    return cases;
}

bool add_case(std::string name, std::function<void(Backend&)> run) {
    op_cases().push_back({std::move(name), std::move(run)});
    return true;
}

Backend* backend_for(const std::string& name, std::string* skip_reason) {
    if (name == "cpu") {
        static std::unique_ptr<Backend> be = janus::make_cpu_backend(0);
        return be.get();
    }
    if (name == "cpu_t1") {
        static std::unique_ptr<Backend> be = janus::make_cpu_backend(1);
        return be.get();
    }
    if (name == "cuda") {
#ifdef JANUS_HAVE_CUDA
        if (janus::cuda_device_count() == 0) {
            *skip_reason = "CUDA backend compiled in but no CUDA device found";
            return nullptr;
        }
        static std::unique_ptr<Backend> be = janus::make_cuda_backend(0);
        return be.get();
#else
        *skip_reason = "CUDA backend not compiled in (configure with -DJANUS_CUDA=ON)";
        return nullptr;
#endif
    }
    *skip_reason = "unknown backend " + name;
    return nullptr;
}

// ---- inputs ------------------------------------------------------------------------------------------
std::vector<float> uniform(size_t n, uint32_t seed, float lo, float hi) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

float quantize(float v, DType dtype) {
    switch (dtype) {
        case DType::bf16: return janus::bf16_to_f32(janus::f32_to_bf16(v));
        case DType::f16: return janus::f16_to_f32(janus::f32_to_f16(v));
        default: return v;
    }
}

Tensor host_tensor(DType dtype, const Shape& shape, std::vector<float>& values) {
    if (int64_t(values.size()) != shape.numel()) throw std::runtime_error("host_tensor: size mismatch");
    Tensor t = Tensor::empty(dtype, shape);
    for (size_t i = 0; i < values.size(); i++) {
        switch (dtype) {
            case DType::f32: t.ptr<float>()[i] = values[i]; break;
            case DType::bf16: t.ptr<uint16_t>()[i] = janus::f32_to_bf16(values[i]); break;
            case DType::f16: t.ptr<uint16_t>()[i] = janus::f32_to_f16(values[i]); break;
            default: throw std::runtime_error("host_tensor: unsupported dtype");
        }
        values[i] = quantize(values[i], dtype);
    }
    return t;
}

Tensor host_i32(const Shape& shape, const std::vector<int32_t>& values) { return Tensor::from_i32(values, shape); }

Tensor to_backend(Backend& be, const Tensor& host) { return be.upload(host); }

Tensor alloc_on(Backend& be, DType dtype, const Shape& shape) {
    // Poison with NaN so that an output the op fails to write shows up in the comparison.
    Tensor t = be.alloc(dtype, shape);
    Tensor poison = Tensor::empty(dtype, shape);
    std::memset(poison.data(), 0xff, poison.nbytes());  // all-ones: NaN in f32/bf16/f16
    be.copy(t, poison);
    return t;
}

std::vector<float> fetch(Backend& be, const Tensor& t) {
    be.synchronize();
    if (t.is_cpu()) return t.to_f32_vector();
    Tensor h = Tensor::empty(t.dtype(), t.shape());
    be.copy(h, t);
    be.synchronize();
    return h.to_f32_vector();
}

// ---- reference roundings -------------------------------------------------------------------------
static double round_to_bits(double v, int bits, int min_exp, double max_finite) {
    // Nearest value with `bits` significant bits, exponent >= min_exp (normal range), ties to even.
    if (std::isnan(v) || std::isinf(v) || v == 0) return v;
    int e;
    double m = std::frexp(v, &e);  // v = m·2^e, 0.5 <= |m| < 1
    if (e - 1 < min_exp) {         // subnormal: fixed spacing 2^(min_exp - bits + 1)
        double unit = std::ldexp(1.0, min_exp - bits + 1);
        double q = std::nearbyint(v / unit);
        return q * unit;
    }
    double q = std::nearbyint(std::ldexp(m, bits));
    double r = std::ldexp(q, e - bits);
    if (std::fabs(r) > max_finite) return std::copysign(INFINITY, v);
    return r;
}
double ref_round_bf16(double v) { return round_to_bits(v, 8, -126, 3.3895313892515355e38); }
double ref_round_f16(double v) { return round_to_bits(v, 11, -14, 65504.0); }

// ---- comparison --------------------------------------------------------------------------------------
void expect_close(const std::vector<float>& got, const std::vector<double>& ref, const Tol& tol,
                  const std::string& what, const std::vector<double>& scale) {
    ASSERT_EQ(got.size(), ref.size()) << what;
    size_t worst = 0, tight_miss = 0, loose_miss = 0;
    double worst_ratio = -1, se = 0, sr = 0;
    for (size_t i = 0; i < got.size(); i++) {
        double r = ref[i], g = got[i];
        if (std::isnan(r) || std::isnan(g)) {
            if (std::isnan(r) != std::isnan(g)) loose_miss++, tight_miss++, worst = i, worst_ratio = INFINITY;
            continue;
        }
        if (std::isinf(r) || std::isinf(g)) {
            if (r != g) loose_miss++, tight_miss++, worst = i, worst_ratio = INFINITY;
            continue;
        }
        double err = std::fabs(g - r);
        double bound = tol.atol + tol.rtol * std::fabs(r) + (scale.empty() ? 0.0 : tol.srel * scale[i]);
        double ratio = bound > 0 ? err / bound : (err > 0 ? INFINITY : 0);
        if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
        if (err > bound) {
            tight_miss++;
            if (err > tol.atol + tol.loose_rtol * (std::fabs(r) + (scale.empty() ? 0.0 : scale[i]))) loose_miss++;
        }
        se += (g - r) * (g - r);
        sr += r * r;
    }
    size_t allowed = size_t(tol.loose_frac * double(got.size()));
    bool ok = loose_miss == 0 && tight_miss <= allowed;
    if (tol.loose_frac == 0) ok = tight_miss == 0;
    double nmse = sr > 0 ? se / sr : se;
    EXPECT_TRUE(ok) << what << ": " << tight_miss << " of " << got.size() << " elements outside tolerance ("
                    << loose_miss << " outside the loose one, " << allowed << " allowed); worst #" << worst
                    << ": got " << got[worst] << ", want " << ref[worst] << " (err/bound " << worst_ratio << ")";
    if (tol.nmse >= 0)
        EXPECT_LE(nmse, tol.nmse) << what << ": normalised mean squared error too large";
}

void expect_bitwise(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    size_t diff = 0, first = 0;
    for (size_t i = 0; i < a.size(); i++)
        if (std::memcmp(&a[i], &b[i], 4) != 0) {
            if (!diff) first = i;
            diff++;
        }
    EXPECT_EQ(diff, 0u) << what << ": " << diff << " elements differ; first #" << first << ": " << a[first]
                        << " vs " << b[first];
}

// ---- the parameterised test -------------------------------------------------------------------------
class OpTable : public ::testing::TestWithParam<std::tuple<std::string, size_t>> {};

TEST_P(OpTable, MatchesReference) {
    auto [backend_name, index] = GetParam();
    std::string why;
    Backend* be = backend_for(backend_name, &why);
    if (!be) GTEST_SKIP() << why;
    op_cases()[index].run(*be);
}

static std::vector<size_t> all_case_indices() {
    std::vector<size_t> v(op_cases().size());
    for (size_t i = 0; i < v.size(); i++) v[i] = i;
    return v;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTable,
                         ::testing::Combine(::testing::Values("cpu", "cpu_t1", "cuda"),
                                            ::testing::ValuesIn(all_case_indices())),
                         [](const ::testing::TestParamInfo<OpTable::ParamType>& info) {
                             return std::get<0>(info.param) + "_" + op_cases()[std::get<1>(info.param)].name;
                         });

}  // namespace optest
