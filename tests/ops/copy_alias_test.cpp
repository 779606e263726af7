// Op table cases for overlapping and aliasing arguments, where the CPU backend defines the semantics
// and every backend must match it: copy() between overlapping ranges of one buffer behaves as
// memmove (the CUDA backend stages device-to-device overlaps through scratch, also across its 64 MiB
// chunks); convert() with y aliasing x is a no-op for equal dtypes and is rejected when the dtypes
// differ. References: std::memmove on a host copy. Exact comparison (no arithmetic involved).
#include <cstring>

#include "op_test.h"

namespace optest {
namespace {

// A view of n elements of `buf` starting at element `first` (same device, shares ownership).
Tensor view(const Tensor& buf, int64_t first, int64_t n) {
    return Tensor(static_cast<char*>(buf.data()) + first * int64_t(janus::dtype_size(buf.dtype())), buf.dtype(), {n},
                  buf.device(), buf.owner());
}

// copy(buf[dst_at : dst_at + n], buf[src_at : src_at + n]) against memmove.
void overlap_copy_case(Backend& be, int64_t total, int64_t dst_at, int64_t src_at, int64_t n) {
    std::vector<float> v(static_cast<size_t>(total));
    for (size_t i = 0; i < v.size(); i++) v[i] = float(i % 16777213);  // distinct neighbours, exact in f32
    Tensor buf = to_backend(be, host_tensor(DType::f32, {total}, v));
    be.copy(view(buf, dst_at, n), view(buf, src_at, n));
    std::memmove(v.data() + dst_at, v.data() + src_at, size_t(n) * sizeof(float));
    std::vector<float> got = fetch(be, buf);
    expect_bitwise(got, v, "copy of " + std::to_string(n) + " elements from " + std::to_string(src_at) + " to " +
                               std::to_string(dst_at) + " (memmove)");
}
OP_CASE("copy_overlap_dst_below_src", [](Backend& be) { overlap_copy_case(be, 10000, 0, 2000, 8000); });
OP_CASE("copy_overlap_dst_above_src", [](Backend& be) { overlap_copy_case(be, 10000, 1000, 0, 9000); });
OP_CASE("copy_overlap_by_one_element", [](Backend& be) {
    overlap_copy_case(be, 5000, 1, 0, 4999);
    overlap_copy_case(be, 5000, 0, 1, 4999);
});
// 96 MiB shifted by one element: more than one 64 MiB staging chunk on CUDA, both directions.
OP_CASE("copy_overlap_96MiB_shift1", [](Backend& be) {
    const int64_t n = int64_t(24) << 20;
    overlap_copy_case(be, n + 1, 1, 0, n);
    overlap_copy_case(be, n + 1, 0, 1, n);
});

OP_CASE("convert_alias_same_dtype_is_noop", [](Backend& be) {
    std::vector<float> v = uniform(777, 5);
    for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
        std::vector<float> w = v;
        Tensor t = to_backend(be, host_tensor(dt, {777}, w));
        be.convert(t, t);
        expect_bitwise(fetch(be, t), w, std::string("convert in place, ") + janus::dtype_name(dt));
    }
});

OP_CASE("convert_overlap_same_dtype_is_memmove", [](Backend& be) {
    overlap_copy_case(be, 3000, 0, 100, 2900);  // through copy(): the same rule
    std::vector<float> v(3000);
    for (size_t i = 0; i < v.size(); i++) v[i] = float(i);
    Tensor buf = to_backend(be, host_tensor(DType::f32, {3000}, v));
    be.convert(view(buf, 100, 2900), view(buf, 0, 2900));
    std::memmove(v.data() + 100, v.data(), 2900 * sizeof(float));
    expect_bitwise(fetch(be, buf), v, "convert f32 -> f32 onto an overlapping range");
});

OP_CASE("convert_alias_different_dtypes_throws", [](Backend& be) {
    std::vector<float> v = uniform(64, 6);
    Tensor t = to_backend(be, host_tensor(DType::f32, {64}, v));
    Tensor as_bf16(t.data(), DType::bf16, {64}, t.device(), t.owner());  // same first byte
    Tensor as_f16(t.data(), DType::f16, {64}, t.device(), t.owner());
    EXPECT_THROW(be.convert(as_bf16, t), janus::Error) << "f32 -> bf16 in place";
    EXPECT_THROW(be.convert(t, as_f16), janus::Error) << "f16 -> f32 in place";
    // Nothing was written: the values are intact and the backend still works.
    expect_bitwise(fetch(be, t), v, "x after the rejected in-place converts");
});

}  // namespace
}  // namespace optest
