// CPU backend: factory, memory (host allocations with a byte counter), argument validation helpers,
// and the simple ops — embedding gather [V, D] x ids[n] -> [n, D], elementwise add/mul (equal shapes
// or a row vector b[N] broadcast over a[..., N]), scale, silu, gelu (erf), swiglu, bf16 rounding and
// dtype conversion. Every op partitions its outputs over the thread pool.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/convert_kernels.h"
#include "kernels/cpu/elementwise_kernels.h"

namespace janus {

int physical_core_count() {
    // Count distinct (physical id, core id) pairs; fall back to hardware_concurrency.
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    int phys = 0;
    std::vector<std::pair<int, int>> seen;
    while (std::getline(f, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
        int value = std::atoi(line.c_str() + colon + 1);
        if (key == "physical id") phys = value;
        if (key == "core id") {
            std::pair<int, int> p{phys, value};
            bool found = false;
            for (auto& s : seen) found = found || s == p;
            if (!found) seen.push_back(p);
        }
    }
    int n = int(seen.size());
    if (n <= 0) n = int(std::thread::hardware_concurrency());
    return n > 0 ? n : 1;
}

std::unique_ptr<Backend> make_cpu_backend(int threads) {
    if (threads < 0) throw Error("cpu backend: thread count must be >= 0 (0 = physical cores)");
    return std::make_unique<cpu::CpuBackend>(threads == 0 ? physical_core_count() : threads);
}

std::string cpu_backend_description() {
    int n = cpu_backend().threads();
    return "cpu: " + std::to_string(n) + (n == 1 ? " thread, " : " threads, ") +
           cpu::isa_name(cpu::best_isa()) + " kernels";
}

namespace cpu {

// ---- validation ----------------------------------------------------------------------------------
void fail(const char* op, const std::string& message) {
    throw Error(std::string("cpu ") + op + ": " + message);
}
void check_host(const char* op, const char* arg, const Tensor& t) {
    if (!t.defined() || (t.data() == nullptr && t.numel() > 0))
        fail(op, std::string(arg) + " is undefined (pass an allocated tensor)");
    if (!t.is_cpu())
        fail(op, std::string(arg) + " is on " + t.device().str() +
                     "; the CPU backend needs host tensors (copy it to the host or use that device's backend)");
}
void check_f32(const char* op, const char* arg, const Tensor& t) {
    check_host(op, arg, t);
    if (t.dtype() != DType::f32)
        fail(op, std::string(arg) + " is " + t.str() + " but must be f32 (convert it first)");
}
void check_float(const char* op, const char* arg, const Tensor& t) {
    check_host(op, arg, t);
    DType d = t.dtype();
    if (d != DType::f32 && d != DType::bf16 && d != DType::f16)
        fail(op, std::string(arg) + " is " + t.str() + " but must be f32, bf16 or f16");
}
void check_same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
    if (!(a.shape() == b.shape()))
        fail(op, std::string(a_name) + " " + a.shape().str() + " and " + b_name + " " + b.shape().str() +
                     " must have the same shape");
}
void check_numel(const char* op, const char* arg, const Tensor& t, int64_t numel) {
    if (t.numel() != numel)
        fail(op, std::string(arg) + " is " + t.str() + " but must have " + std::to_string(numel) + " elements");
}

void load_f32(const void* src, DType t, int64_t offset, int64_t n, float* dst) {
    switch (t) {
        case DType::f32: std::memcpy(dst, static_cast<const float*>(src) + offset, size_t(n) * 4); break;
        case DType::bf16: convert_kernels().bf16_to_f32(static_cast<const uint16_t*>(src) + offset, dst, n); break;
        case DType::f16: convert_kernels().f16_to_f32(static_cast<const uint16_t*>(src) + offset, dst, n); break;
        default: throw Error(std::string("cpu load_f32: unsupported dtype ") + dtype_name(t));
    }
}

std::vector<float> param_f32(const Tensor& t, int64_t n, float fill) {
    std::vector<float> out(size_t(n), fill);
    if (t.defined() && n > 0) load_f32(t.data(), t.dtype(), 0, n, out.data());
    return out;
}

// ---- memory ---------------------------------------------------------------------------------------
CpuBackend::CpuBackend(int threads) : pool_(threads) {}

Tensor CpuBackend::alloc(DType dtype, const Shape& shape) {
    for (int i = 0; i < shape.ndim; i++)
        if (shape.d[i] < 0) fail("alloc", "negative dimension in " + shape.str());
    if (dtype_size(dtype) == 0 && !dtype_is_quantized(dtype))
        fail("alloc", std::string("dtype ") + dtype_name(dtype) + " is not element-addressable");
    size_t bytes = dtype_nbytes(dtype, shape.numel(), shape.ndim ? shape.d[shape.ndim - 1] : 1);
    size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!p) throw Error("cpu alloc: out of memory allocating " + std::to_string(bytes) + " bytes for " + shape.str());
    auto counter = allocated_;
    counter->fetch_add(int64_t(rounded));
    std::shared_ptr<void> owner(p, [counter, rounded](void* q) {
        std::free(q);
        counter->fetch_sub(int64_t(rounded));
    });
    return Tensor(p, dtype, shape, Device{}, std::move(owner));
}

void CpuBackend::zero(const Tensor& t) {
    check_host("zero", "tensor", t);
    if (t.nbytes()) std::memset(t.data(), 0, t.nbytes());
}

void CpuBackend::copy(const Tensor& dst, const Tensor& src) {
    check_host("copy", "dst", dst);
    check_host("copy", "src", src);
    if (dst.dtype() != src.dtype())
        fail("copy", "dst is " + dst.str() + " but src is " + src.str() + "; use convert() to change dtype");
    check_numel("copy", "dst", dst, src.numel());
    if (dst.nbytes() && dst.data() != src.data()) std::memmove(dst.data(), src.data(), src.nbytes());
}

Tensor CpuBackend::upload(const Tensor& t) {
    check_host("upload", "tensor", t);
    return t;
}

MemoryInfo CpuBackend::memory() const {
    MemoryInfo m;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) m.total = size_t(pages) * size_t(page);
    std::ifstream f("/proc/meminfo");
    std::string key;
    size_t kb = 0;
    std::string unit;
    while (f >> key >> kb >> unit)
        if (key == "MemAvailable:") {
            m.available = kb * 1024;
            break;
        }
    if (!m.available) m.available = m.total;
    m.allocated = size_t(allocated_->load());
    return m;
}

// ---- embedding --------------------------------------------------------------------------------------
void CpuBackend::embedding(const Tensor& out, const Tensor& table, const Tensor& ids) {
    check_f32("embedding", "out", out);
    check_float("embedding", "table", table);
    check_host("embedding", "ids", ids);
    if (ids.dtype() != DType::i32) fail("embedding", "ids is " + ids.str() + " but must be i32");
    if (table.ndim() != 2) fail("embedding", "table is " + table.str() + " but must be [V, D]");
    int64_t V = table.dim(0), D = table.dim(1), n = ids.numel();
    if (out.numel() != n * D || (out.ndim() > 0 && out.dim(-1) != D))
        fail("embedding", "out is " + out.str() + " but must be [" + std::to_string(n) + ", " + std::to_string(D) + "]");
    const int32_t* id = ids.ptr<int32_t>();
    for (int64_t i = 0; i < n; i++)
        if (id[i] < 0 || id[i] >= V)
            fail("embedding", "token id " + std::to_string(id[i]) + " at position " + std::to_string(i) +
                                  " is outside the table's [0, " + std::to_string(V) +
                                  ") rows (tokenizer and checkpoint do not match?)");
    float* o = out.ptr<float>();
    const void* t = table.data();
    DType dt = table.dtype();
    pool_.parallel_for(n, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) load_f32(t, dt, int64_t(id[i]) * D, D, o + i * D);
    });
}

// ---- elementwise --------------------------------------------------------------------------------------
namespace {
constexpr int64_t kGrain = 16384;  // elements per chunk for elementwise ops

template <class F>
void map1(ThreadPool& pool, int64_t n, F f) {
    pool.parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) f(i);
    });
}
}  // namespace

void CpuBackend::binary(const char* op, const Tensor& y, const Tensor& a, const Tensor& b, bool is_mul) {
    check_f32(op, "y", y);
    check_f32(op, "a", a);
    check_f32(op, "b", b);
    check_same_shape(op, "y", y, "a", a);
    int64_t n = a.numel();
    float* py = y.ptr<float>();
    const float* pa = a.ptr<float>();
    const float* pb = b.ptr<float>();
    if (b.shape() == a.shape()) {
        if (is_mul) map1(pool_, n, [&](int64_t i) { py[i] = pa[i] * pb[i]; });
        else map1(pool_, n, [&](int64_t i) { py[i] = pa[i] + pb[i]; });
        return;
    }
    if (a.ndim() >= 1 && b.ndim() == 1 && b.dim(0) == a.dim(-1)) {
        int64_t N = b.dim(0);
        int64_t rows = N ? n / N : 0;
        pool_.parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(N, 1)), [&](int64_t rb, int64_t re) {
            for (int64_t r = rb; r < re; r++) {
                const float* ar = pa + r * N;
                float* yr = py + r * N;
                if (is_mul) for (int64_t j = 0; j < N; j++) yr[j] = ar[j] * pb[j];
                else for (int64_t j = 0; j < N; j++) yr[j] = ar[j] + pb[j];
            }
        });
        return;
    }
    fail(op, "b " + b.shape().str() + " must have a's shape " + a.shape().str() + " or be a vector of a's last dim");
}

void CpuBackend::add(const Tensor& y, const Tensor& a, const Tensor& b) { binary("add", y, a, b, false); }
void CpuBackend::mul(const Tensor& y, const Tensor& a, const Tensor& b) { binary("mul", y, a, b, true); }

void CpuBackend::scale(const Tensor& y, const Tensor& x, float s) {
    check_f32("scale", "y", y);
    check_f32("scale", "x", x);
    check_same_shape("scale", "y", y, "x", x);
    float* py = y.ptr<float>();
    const float* px = x.ptr<float>();
    map1(pool_, x.numel(), [&](int64_t i) { py[i] = px[i] * s; });
}

void CpuBackend::silu(const Tensor& y, const Tensor& x) {
    check_f32("silu", "y", y);
    check_f32("silu", "x", x);
    check_same_shape("silu", "y", y, "x", x);
    float* py = y.ptr<float>();
    const float* px = x.ptr<float>();
    auto fn = elementwise_kernels().silu;
    pool_.parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) { fn(px + b, py + b, e - b); });
}

void CpuBackend::gelu(const Tensor& y, const Tensor& x) {
    check_f32("gelu", "y", y);
    check_f32("gelu", "x", x);
    check_same_shape("gelu", "y", y, "x", x);
    float* py = y.ptr<float>();
    const float* px = x.ptr<float>();
    auto fn = elementwise_kernels().gelu;
    pool_.parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) { fn(px + b, py + b, e - b); });
}

void CpuBackend::swiglu(const Tensor& y, const Tensor& gate, const Tensor& up) {
    check_f32("swiglu", "y", y);
    check_f32("swiglu", "gate", gate);
    check_f32("swiglu", "up", up);
    check_same_shape("swiglu", "y", y, "gate", gate);
    check_same_shape("swiglu", "up", up, "gate", gate);
    float* py = y.ptr<float>();
    const float* pg = gate.ptr<float>();
    const float* pu = up.ptr<float>();
    auto fn = elementwise_kernels().swiglu;
    pool_.parallel_for(y.numel(), kGrain, [&](int64_t b, int64_t e) { fn(pg + b, pu + b, py + b, e - b); });
}

void CpuBackend::round_to_bf16(const Tensor& x) {
    check_f32("round_to_bf16", "x", x);
    float* p = x.ptr<float>();
    auto fn = convert_kernels().round_bf16;
    pool_.parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) { fn(p + b, p + b, e - b); });
}

void CpuBackend::convert(const Tensor& y, const Tensor& x) {
    check_float("convert", "y", y);
    check_float("convert", "x", x);
    check_numel("convert", "y", y, x.numel());
    DType dt = y.dtype(), st = x.dtype();
    if (x.data() == y.data() && dt != st) fail("convert", "y must not alias x when the dtypes differ");
    const void* src = x.data();
    void* dst = y.data();
    const ConvertKernels& k = convert_kernels();
    pool_.parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) {
        const int64_t n = e - b;
        if (st == dt) {
            std::memmove(static_cast<char*>(dst) + b * int64_t(dtype_size(dt)),
                         static_cast<const char*>(src) + b * int64_t(dtype_size(st)), size_t(n) * dtype_size(dt));
        } else if (st == DType::f32) {
            const float* s = static_cast<const float*>(src) + b;
            uint16_t* d = static_cast<uint16_t*>(dst) + b;
            (dt == DType::bf16 ? k.f32_to_bf16 : k.f32_to_f16)(s, d, n);
        } else if (dt == DType::f32) {
            load_f32(src, st, b, n, static_cast<float*>(dst) + b);
        } else {  // bf16 <-> f16 through f32
            float buf[1024];
            for (int64_t i = b; i < e; i += 1024) {
                int64_t m = std::min<int64_t>(1024, e - i);
                load_f32(src, st, i, m, buf);
                (dt == DType::bf16 ? k.f32_to_bf16 : k.f32_to_f16)(buf, static_cast<uint16_t*>(dst) + i, m);
            }
        }
    });
}

}  // namespace cpu
}  // namespace janus
