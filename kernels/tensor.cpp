// Tensor views, shapes and host allocation.
#include "kernels/tensor.h"

#include <cstdlib>
#include <cstring>

#include "janus/error.h"

namespace janus {

std::string Device::str() const {
    return kind == DeviceKind::cpu ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Shape::Shape(std::initializer_list<int64_t> dims) {
    if (dims.size() > size_t(kMaxDims)) throw Error("tensor rank above 6 is not supported");
    for (int64_t v : dims) d[ndim++] = v;
}
Shape::Shape(const std::vector<int64_t>& dims) {
    if (dims.size() > size_t(kMaxDims)) throw Error("tensor rank above 6 is not supported");
    for (int64_t v : dims) d[ndim++] = v;
}
int64_t Shape::numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= d[i];
    return n;
}
bool Shape::operator==(const Shape& o) const {
    if (ndim != o.ndim) return false;
    for (int i = 0; i < ndim; i++)
        if (d[i] != o.d[i]) return false;
    return true;
}
std::string Shape::str() const {
    std::string s = "[";
    for (int i = 0; i < ndim; i++) s += (i ? ", " : "") + std::to_string(d[i]);
    return s + "]";
}

Tensor Tensor::empty(DType dtype, const Shape& shape) {
    for (int i = 0; i < shape.ndim; i++)
        if (shape.d[i] < 0) throw Error("negative tensor dimension in " + shape.str());
    size_t bytes = dtype_nbytes(dtype, shape.numel(), shape.ndim ? shape.d[shape.ndim - 1] : 1);
    size_t alloc = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, alloc ? alloc : 64);
    if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes for " + shape.str());
    std::shared_ptr<void> owner(p, [](void* q) { std::free(q); });
    return Tensor(p, dtype, shape, Device{}, std::move(owner));
}

Tensor Tensor::zeros(DType dtype, const Shape& shape) {
    Tensor t = empty(dtype, shape);
    std::memset(t.data(), 0, t.nbytes());
    return t;
}

Tensor Tensor::from_f32(const std::vector<float>& v, const Shape& shape) {
    if (int64_t(v.size()) != shape.numel()) throw Error("from_f32: size does not match shape " + shape.str());
    Tensor t = empty(DType::f32, shape);
    std::memcpy(t.data(), v.data(), v.size() * 4);
    return t;
}

Tensor Tensor::from_i32(const std::vector<int32_t>& v, const Shape& shape) {
    if (int64_t(v.size()) != shape.numel()) throw Error("from_i32: size does not match shape " + shape.str());
    Tensor t = empty(DType::i32, shape);
    std::memcpy(t.data(), v.data(), v.size() * 4);
    return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
    Shape s = shape;
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < s.ndim; i++) {
        if (s.d[i] == -1) {
            if (infer >= 0) throw Error("reshape: more than one -1 in " + shape.str());
            infer = i;
        } else {
            known *= s.d[i];
        }
    }
    if (infer >= 0) s.d[infer] = known ? numel() / known : 0;
    if (s.numel() != numel())
        throw Error("reshape: " + shape_.str() + " has " + std::to_string(numel()) +
                    " elements, cannot view as " + shape.str());
    return Tensor(data_, dtype_, s, device_, owner_);
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
    if (ndim() == 0 || begin < 0 || end < begin || end > dim(0))
        throw Error("rows(" + std::to_string(begin) + ", " + std::to_string(end) + ") out of range for " +
                    shape_.str());
    Shape s = shape_;
    s.d[0] = end - begin;
    size_t row_bytes = dim(0) ? nbytes() / size_t(dim(0)) : 0;
    return Tensor(static_cast<char*>(data_) + size_t(begin) * row_bytes, dtype_, s, device_, owner_);
}

Tensor Tensor::row(int64_t i) const {
    Tensor r = rows(i, i + 1);
    Shape s;
    for (int k = 1; k < ndim(); k++) s.d[s.ndim++] = shape_.d[k];
    return Tensor(r.data(), dtype_, s, device_, owner_);
}

std::vector<float> Tensor::to_f32_vector() const {
    if (!is_cpu()) throw Error("to_f32_vector: tensor is on " + device_.str() + ", copy it to the host first");
    std::vector<float> out(static_cast<size_t>(numel()));
    for (size_t i = 0; i < out.size(); i++) {
        switch (dtype_) {
            case DType::f32: out[i] = ptr<float>()[i]; break;
            case DType::bf16: out[i] = bf16_to_f32(ptr<uint16_t>()[i]); break;
            case DType::f16: out[i] = f16_to_f32(ptr<uint16_t>()[i]); break;
            case DType::f64: out[i] = float(ptr<double>()[i]); break;
            case DType::i32: out[i] = float(ptr<int32_t>()[i]); break;
            case DType::i64: out[i] = float(ptr<int64_t>()[i]); break;
            case DType::u8: out[i] = float(ptr<uint8_t>()[i]); break;
            default: throw Error(std::string("to_f32_vector: unsupported dtype ") + dtype_name(dtype_));
        }
    }
    return out;
}

std::string Tensor::str() const {
    return std::string(dtype_name(dtype_)) + shape_.str() + " on " + device_.str();
}

}  // namespace janus
