// CudaBackend: the class behind make_cuda_backend (kernels/cuda/cuda_backend.h). One object per
// device, one stream per object; every op is stream-ordered and asynchronous except copies that
// touch host memory (those return with the data in place). Ops are spread over kernels/cuda/*.cu:
//   cuda_backend.cu    memory, registry entry points, graph capture, elementwise/convert/embedding
//   cuda_matmul.cu     GEMV kernel (decode, M <= 8), cuBLAS GEMM (larger M), conv2d, upsample
//   cuda_norm_attn.cu  rms/layer/group norm, rope, softmax, attention (split-KV, online softmax)
//   cuda_sampling.cu   Philox sampling (kernels/cuda/cuda_sampling.h)
// Internal to kernels/cuda; model code uses janus::Backend only.
#pragma once
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_common.cuh"

namespace janus::cuda {

// State shared by the backend and the deleters of the tensors it allocated (tensors may outlive it).
struct DeviceState {
    int device = 0;
    cudaStream_t stream = nullptr;
    std::atomic<int64_t> allocated{0};
    std::mutex mutex;
    bool capturing = false;
    bool pool = true;       // stream-ordered pool (cudaMallocAsync/cudaFreeAsync); false: cudaMalloc/cudaFree
    bool released = false;  // process exit released everything (release_at_exit): frees become no-ops
    std::vector<void*> pending_free;  // freed while a graph was being captured; released after
    void free_now(void* p);           // cudaFreeAsync on the stream, or cudaFree (caller holds mutex)
    ~DeviceState();
};

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(int index);
    ~CudaBackend() override;

    std::string name() const override { return "cuda:" + std::to_string(index_); }
    Device device() const override { return Device{DeviceKind::cuda, index_}; }
    Tensor alloc(DType dtype, const Shape& shape) override;
    void zero(const Tensor& t) override;
    void copy(const Tensor& dst, const Tensor& src) override;
    Tensor upload(const Tensor& t) override;
    void synchronize() override;
    MemoryInfo memory() const override;

    bool begin_capture() override;
    void end_capture() override;
    void abort_capture() override;
    void replay() override;

    void embedding(const Tensor& out, const Tensor& table, const Tensor& ids) override;
    void matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                MatmulPrecision precision, bool accumulate) override;
    void rms_norm(const Tensor& y, const Tensor& x, const Tensor& w, float eps, bool round_bf16) override;
    void layer_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, float eps) override;
    void group_norm(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, int groups, float eps,
                    bool swish) override;
    void rope(const Tensor& x, const Tensor& pos, const Tensor& inv_freq, bool round_bf16) override;
    void softmax(const Tensor& x) override;
    void attention(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                   int64_t causal_start) override;
    void add(const Tensor& y, const Tensor& a, const Tensor& b) override;
    void mul(const Tensor& y, const Tensor& a, const Tensor& b) override;
    void scale(const Tensor& y, const Tensor& x, float s) override;
    void silu(const Tensor& y, const Tensor& x) override;
    void gelu(const Tensor& y, const Tensor& x) override;
    void swiglu(const Tensor& y, const Tensor& gate, const Tensor& up) override;
    void round_to_bf16(const Tensor& x) override;
    void convert(const Tensor& y, const Tensor& x) override;
    void conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                const Conv2dParams& p) override;
    void upsample_nearest2x(const Tensor& y, const Tensor& x) override;

    // ---- for the .cu files -----------------------------------------------------------------------
    cudaStream_t stream() const { return state_->stream; }
    cublasHandle_t blas() const { return blas_; }
    int sm_count() const { return sm_count_; }
    bool capturing() const;
    bool uses_pool() const { return state_->pool; }
    // Frees every GPU resource of this backend (and its stream, so tensors freed later are no-ops);
    // run by an atexit handler registered after the CUDA runtime's own, i.e. before the runtime
    // unloads and before static objects that outlive main() (e.g. the backend registry) go away.
    void release_at_exit() noexcept;
    // Make this backend's device current on the calling thread (cheap when it already is).
    void activate() const;
    // Stream-ordered scratch of at least `bytes` (grown outside capture only; reused by every op, so
    // valid until the op that asked for it has been issued). Throws during capture if too small.
    void* scratch(size_t bytes);
    size_t scratch_size() const { return scratch_bytes_; }
    // Bytes an op may plan to use in chunks: `normal`, or while capturing what the reserved scratch
    // holds beyond `fixed` bytes (chunked ops shrink their chunks instead of failing).
    int64_t chunk_budget(int64_t normal, size_t fixed) const {
        if (!capturing() || scratch_bytes_ <= fixed) return normal;
        return std::min<int64_t>(normal, int64_t(scratch_bytes_ - fixed));
    }
    // Device-side error word that kernels set (e.g. embedding ids out of range); checked at
    // synchronize() and, outside capture, right after the op that can set it.
    int* error_word() const { return err_; }
    void check_error_word(const char* op);
    // Input index tensors (ids, positions) may live on the host: returns a device i32 copy (outside
    // capture only) or `t` itself when it is already on this device.
    Tensor device_indices(const char* op, const char* arg, const Tensor& t);

private:
    void release_handles() noexcept;  // graph, cuBLAS, workspace, error word, scratch
    void copy_overlapping(const Tensor& dst, const Tensor& src);
    int index_;
    int sm_count_ = 0;
    std::shared_ptr<DeviceState> state_;
    cublasHandle_t blas_ = nullptr;
    void* blas_workspace_ = nullptr;
    int* err_ = nullptr;  // [2]: code, detail
    void* scratch_ = nullptr;
    size_t scratch_bytes_ = 0;
    Tensor index_staging_;  // device i32 copy of host index tensors
    cudaGraph_t graph_ = nullptr;
    cudaGraphExec_t exec_ = nullptr;
};

// ---- validation helpers shared by the .cu files --------------------------------------------------
// Each throws janus::Error("cuda <op>: <argument> ...") naming the problem and the fix.
[[noreturn]] void fail(const char* op, const std::string& message);
void check_on(const CudaBackend& b, const char* op, const char* arg, const Tensor& t);  // defined, on b
void check_f32(const CudaBackend& b, const char* op, const char* arg, const Tensor& t);
void check_float(const CudaBackend& b, const char* op, const char* arg, const Tensor& t);  // f32/bf16/f16
void check_same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b);
void check_numel(const char* op, const char* arg, const Tensor& t, int64_t numel);

// Error codes written to the error word by kernels.
enum DeviceErrorCode : int { kErrNone = 0, kErrEmbeddingId = 1 };

}  // namespace janus::cuda
