// Shared machinery for the op test table (the pattern of llama.cpp's test-backend-ops): every op case
// is registered once and runs on every backend in kBackends — the CPU always, CUDA when compiled in
// and a device exists (otherwise the CUDA instances GTEST_SKIP). Each case builds random inputs on the
// host, runs the op on the backend under test and compares with an independent float64 scalar
// reference written in the test file, with a tolerance stated per op.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "janus/error.h"
#include "kernels/backend.h"

namespace optest {

using janus::Backend;
using janus::DType;
using janus::Shape;
using janus::Tensor;

// ---- registry ------------------------------------------------------------------------------------
struct OpCase {
    std::string name;                    // gtest-safe: [A-Za-z0-9_]
    std::function<void(Backend&)> run;   // uses EXPECT_*/ASSERT_*
};
std::vector<OpCase>& op_cases();
bool add_case(std::string name, std::function<void(Backend&)> run);

// The backends every case runs on: "cpu" (default threads), "cpu_t1" (one thread), "cuda".
// Returns nullptr and sets *skip_reason when the backend is not available here.
Backend* backend_for(const std::string& name, std::string* skip_reason);

// ---- inputs ----------------------------------------------------------------------------------------
// Deterministic pseudo-random values, uniform in [lo, hi).
std::vector<float> uniform(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
// The value a float takes after storing it as `dtype` (exactly what the op will read).
float quantize(float v, DType dtype);
// Host tensor of `dtype` holding `values` (rounded to dtype); `values` is updated to the stored values.
Tensor host_tensor(DType dtype, const Shape& shape, std::vector<float>& values);
Tensor host_i32(const Shape& shape, const std::vector<int32_t>& values);
// Backend copy of a host tensor, an uninitialised backend tensor, and a host f32 copy of a backend tensor.
Tensor to_backend(Backend& be, const Tensor& host);
Tensor alloc_on(Backend& be, DType dtype, const Shape& shape);
std::vector<float> fetch(Backend& be, const Tensor& t);

// ---- independent reference conversions (not the library's) --------------------------------------
double ref_round_bf16(double v);  // f32 value -> nearest bf16 (ties to even), via frexp/ldexp
double ref_round_f16(double v);   // f32 value -> nearest f16 (ties to even, subnormals, overflow to inf)

// ---- comparison -------------------------------------------------------------------------------------
struct Tol {
    double atol = 0;       // |got - ref| <= atol + rtol·|ref| + srel·scale[i] (scale: e.g. Σ|x·w|)
    double rtol = 0;
    double srel = 0;
    double nmse = -1;      // if >= 0: Σ(got-ref)² / Σref² must not exceed this
    double loose_frac = 0; // fraction of elements allowed to miss the tight bound ...
    double loose_rtol = 0; // ... if within atol + loose_rtol·(|ref| + scale[i]) (bf16 rounding ties)
};
// EXPECT-style comparison; reports the worst element. `scale` may be empty.
void expect_close(const std::vector<float>& got, const std::vector<double>& ref, const Tol& tol,
                  const std::string& what, const std::vector<double>& scale = {});
// Bitwise equality of two float vectors.
void expect_bitwise(const std::vector<float>& a, const std::vector<float>& b, const std::string& what);

}  // namespace optest

// Registers a case at static-initialisation time.
#define OPTEST_CONCAT2(a, b) a##b
#define OPTEST_CONCAT(a, b) OPTEST_CONCAT2(a, b)
#define OP_CASE(name, ...) \
    static const bool OPTEST_CONCAT(op_case_, __LINE__) = ::optest::add_case(name, __VA_ARGS__)
