// RawTensor helpers: contiguity test and overflow-checked element counts.
#include "kernels/io/raw_tensor.h"

namespace janus::io {

bool RawTensor::contiguous() const {
    if (strides.empty()) return true;
    if (strides.size() != shape.size()) return false;
    int64_t expect = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        if (shape[i] != 1 && strides[i] != expect) return false;
        expect *= shape[i];
    }
    return true;
}

bool checked_numel(const std::vector<int64_t>& shape, uint64_t elem_size, uint64_t* numel_out) {
    const uint64_t limit = uint64_t(1) << 62;
    uint64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) return false;
        if (d != 0 && n > limit / uint64_t(d)) return false;
        n *= uint64_t(d);
    }
    if (elem_size && n > limit / elem_size) return false;
    *numel_out = n;
    return true;
}

}  // namespace janus::io
