// janus.cpp public API — NumPy .npy files (kernels/io/npy.cpp): --dump activations and ids, `janus vq`
// code grids, and the PyTorch goldens the tests read. C order; shapes kept as given, e.g. [n, 576, 1024].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace janus {

// A NumPy array file: dtype descr ("<f4", "<i4", "<i8", "|u1", "<f8", "<f2", "|b1"), C-order shape,
// raw little-endian bytes.
struct Npy {
    std::string descr;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
    int64_t numel() const;
    std::vector<float> to_f32() const;    // float or integer arrays, converted
    std::vector<int64_t> to_i64() const;  // integer arrays
};
Npy read_npy(const std::string& path);
void write_npy(const std::string& path, const Npy& array);
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void write_npy_i32(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape);
void write_npy_i64(const std::string& path, const int64_t* data, const std::vector<int64_t>& shape);
void write_npy_u8(const std::string& path, const uint8_t* data, const std::vector<int64_t>& shape);

}  // namespace janus
