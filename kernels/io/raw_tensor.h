// RawTensor: what a checkpoint parser reports for one tensor before any memory is touched — its
// name, dtype, shape, optional element strides and where its first element lies in the file.
// Parsers (safetensors.h, torch_zip.h) produce these from a ByteView; checkpoint.h turns them into
// janus::Tensor views over the mapped file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/dtype.h"

namespace janus::io {

struct RawTensor {
    std::string name;
    DType dtype = DType::f32;
    std::vector<int64_t> shape;    // [d0, d1, ...]; empty = scalar
    std::vector<int64_t> strides;  // in elements; empty = contiguous row-major
    uint64_t offset = 0;           // byte offset of element 0 from the start of the file
    uint64_t span_bytes = 0;       // bytes from `offset` to one past the last element addressed

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
    uint64_t nbytes() const { return uint64_t(numel()) * dtype_size(dtype); }
    bool contiguous() const;  // strides empty or equal to row-major strides (size-1 dims ignored)
};

// Product of dims with overflow and sign checks: returns false when a dim is negative or the
// product (times elem_size) would exceed 2^62.
bool checked_numel(const std::vector<int64_t>& shape, uint64_t elem_size, uint64_t* numel_out);

}  // namespace janus::io
