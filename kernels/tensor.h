// Tensor: a typed, shaped, contiguous row-major view over memory owned by a backend allocation or
// by a mapped checkpoint file. Copying a Tensor copies the view, not the data; `owner` keeps the
// storage alive. Up to 6 dimensions. Shapes are written [d0, d1, ...] with the last dim contiguous.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "kernels/dtype.h"

namespace janus {

constexpr int kMaxDims = 6;

enum class DeviceKind : uint8_t { cpu, cuda };
struct Device {
    DeviceKind kind = DeviceKind::cpu;
    int index = 0;
    bool operator==(const Device&) const = default;
    std::string str() const;  // "cpu", "cuda:0"
};

struct Shape {
    int ndim = 0;
    std::array<int64_t, kMaxDims> d{};
    Shape() = default;
    Shape(std::initializer_list<int64_t> dims);
    explicit Shape(const std::vector<int64_t>& dims);
    int64_t operator[](int i) const { return d[i < 0 ? i + ndim : i]; }
    int64_t& operator[](int i) { return d[i < 0 ? i + ndim : i]; }
    int size() const { return ndim; }
    int64_t numel() const;
    bool operator==(const Shape& o) const;
    std::string str() const;  // "[2, 3]"
    std::vector<int64_t> vec() const { return {d.begin(), d.begin() + ndim}; }
};

class Tensor {
public:
    Tensor() = default;
    Tensor(void* data, DType dtype, const Shape& shape, Device device = {},
           std::shared_ptr<void> owner = nullptr)
        : data_(data), dtype_(dtype), shape_(shape), device_(device), owner_(std::move(owner)) {}

    // Host (CPU) allocation, 64-byte aligned. `empty` is uninitialised, `zeros` is zero-filled.
    static Tensor empty(DType dtype, const Shape& shape);
    static Tensor zeros(DType dtype, const Shape& shape);
    // Host tensor holding a copy of `values` with the given shape (f32 / i32 helpers for tests).
    static Tensor from_f32(const std::vector<float>& values, const Shape& shape);
    static Tensor from_i32(const std::vector<int32_t>& values, const Shape& shape);

    bool defined() const { return data_ != nullptr || (shape_.ndim > 0 && shape_.numel() == 0); }
    void* data() const { return data_; }
    template <class T> T* ptr() const { return static_cast<T*>(data_); }
    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int ndim() const { return shape_.ndim; }
    int64_t dim(int i) const { return shape_[i]; }
    int64_t numel() const { return shape_.numel(); }
    size_t nbytes() const { return dtype_nbytes(dtype_, numel(), ndim() ? shape_.d[ndim() - 1] : 1); }
    Device device() const { return device_; }
    bool is_cpu() const { return device_.kind == DeviceKind::cpu; }
    const std::shared_ptr<void>& owner() const { return owner_; }

    // Same data, new shape with the same number of elements (one dim may be -1).
    Tensor reshape(const Shape& shape) const;
    // Rows [begin, end) along dim 0 (a view).
    Tensor rows(int64_t begin, int64_t end) const;
    // Row i along dim 0 with that dim dropped (a view).
    Tensor row(int64_t i) const;
    // Host copy converted to f32 (any float dtype) — for tests and tools, not hot paths.
    std::vector<float> to_f32_vector() const;

    std::string str() const;  // "bf16[2048, 4096] on cpu"

private:
    void* data_ = nullptr;
    DType dtype_ = DType::f32;
    Shape shape_;
    Device device_;
    std::shared_ptr<void> owner_;
};

}  // namespace janus
