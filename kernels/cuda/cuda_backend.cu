// CUDA backend core: device discovery (cuda_device_count never throws: 0 without a driver or GPU),
// the CudaBackend object (one stream, cuBLAS handle, stream-ordered allocations from the device's
// memory pool, or cudaMalloc where pools are unavailable or JANUS_CUDA_NO_POOL=1), copies between host
// and device (overlapping device ranges behave as memmove, like the CPU backend), CUDA-graph
// capture/replay/abort of a step, release of every GPU resource at process exit (before the CUDA
// runtime unloads), and the simple
// elementwise ops: add/mul (equal shapes or a row vector b[N] over a[..., N]), scale, silu, gelu
// (erf), swiglu, round_to_bf16, convert (f32/bf16/f16), embedding (out[n, D] = table[ids, :]).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_backend_impl.h"

namespace janus {

// ---- discovery --------------------------------------------------------------------------------------
int cuda_device_count() {
    static std::once_flag once;
    static int count = 0;
    std::call_once(once, [] {
        int n = 0;
        cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();  // no driver / no device: not an error for the caller
            n = 0;
        }
        count = n;
    });
    return count;
}

std::string cuda_device_description(int index) {
    cudaDeviceProp p{};
    if (index < 0 || index >= cuda_device_count() || cudaGetDeviceProperties(&p, index) != cudaSuccess) {
        (void)cudaGetLastError();
        return "cuda:" + std::to_string(index) + ": not available";
    }
    char buf[512];
    std::snprintf(buf, sizeof buf, "cuda:%d: %s, %.0f GiB, sm_%d%d, %d SMs", index, p.name,
                  double(p.totalGlobalMem) / double(1ull << 30), p.major, p.minor, p.multiProcessorCount);
    return buf;
}

std::unique_ptr<Backend> make_cuda_backend(int index) { return std::make_unique<cuda::CudaBackend>(index); }

std::string cuda_allocator(const Backend& b) {
    auto* c = dynamic_cast<const cuda::CudaBackend*>(&b);
    if (!c) return "";
    return c->uses_pool() ? "cudaMallocAsync pool" : "cudaMalloc";
}

namespace cuda {

// ---- errors and validation ----------------------------------------------------------------------------
static const char* short_path(const char* file) {
    const char* k = std::strstr(file, "kernels/");
    return k ? k : file;
}

void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
    (void)cudaGetLastError();  // clear a non-sticky error so later calls are not blamed for it
    std::string msg = std::string("cuda: ") + what + " failed at " + short_path(file) + ":" + std::to_string(line) +
                      ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
    switch (err) {
        case cudaErrorMemoryAllocation:
            msg += " — out of device memory: use a smaller model or fewer parallel rows, or --device cpu";
            break;
        case cudaErrorNoDevice:
        case cudaErrorInsufficientDriver:
            msg += " — no usable CUDA driver/device on this machine: use --device cpu";
            break;
        case cudaErrorNoKernelImageForDevice:
        case cudaErrorUnsupportedPtxVersion:
            msg += " — this build has no code for this GPU: rebuild with -DJANUS_CUDA_ARCHS=<its compute "
                   "capability, e.g. 89 or 90a> (or update the NVIDIA driver), or use --device cpu";
            break;
        case cudaErrorIllegalAddress:
        case cudaErrorLaunchFailure:
        case cudaErrorIllegalInstruction:
        case cudaErrorMisalignedAddress:
            msg += " — a kernel faulted and the CUDA context is unusable: restart the process; to locate the "
                   "fault run the failing command under compute-sanitizer (scripts/device-check does)";
            break;
        default: break;
    }
    throw Error(msg);
}

void throw_cublas_error(cublasStatus_t st, const char* what, const char* file, int line) {
    throw Error(std::string("cuda: ") + what + " failed at " + short_path(file) + ":" + std::to_string(line) +
                ": cuBLAS status " + std::to_string(int(st)) + " (" + cublasGetStatusString(st) + ")");
}

void fail(const char* op, const std::string& message) { throw Error(std::string("cuda ") + op + ": " + message); }

void check_on(const CudaBackend& b, const char* op, const char* arg, const Tensor& t) {
    if (!t.defined()) fail(op, std::string(arg) + " is undefined");
    if (!(t.device() == b.device()))
        fail(op, std::string(arg) + " is " + t.str() + " but must be on " + b.name() +
                     " (move it with backend.upload() or copy() first)");
}
void check_f32(const CudaBackend& b, const char* op, const char* arg, const Tensor& t) {
    check_on(b, op, arg, t);
    if (t.dtype() != DType::f32) fail(op, std::string(arg) + " is " + t.str() + " but must be f32");
}
void check_float(const CudaBackend& b, const char* op, const char* arg, const Tensor& t) {
    check_on(b, op, arg, t);
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
        fail(op, std::string(arg) + " is " + t.str() + " but must hold " + std::to_string(numel) + " elements");
}

// ---- live backends, released at exit ---------------------------------------------------------------
// Backends can live in objects destroyed after main() returns (the registry's globals, function-local
// statics), possibly after the statically linked CUDA runtime has begun unloading. The first backend
// registers an atexit handler — after the runtime's own registration (the runtime is initialised by
// then), so it runs first — that releases every live backend's resources while the runtime is intact.
namespace {
std::mutex& live_mutex() {
    static auto* m = new std::mutex;  // leaked on purpose: must outlive every static destructor
    return *m;
}
std::vector<CudaBackend*>& live_backends() {
    static auto* v = new std::vector<CudaBackend*>;
    return *v;
}
void release_all_at_exit() {
    std::lock_guard<std::mutex> lock(live_mutex());
    for (CudaBackend* b : live_backends()) b->release_at_exit();
}
}  // namespace

// ---- backend object -----------------------------------------------------------------------------------
void DeviceState::free_now(void* p) {
    if (released) return;  // the stream and the context's memory went at exit
    (void)cudaSetDevice(device);
    if (pool) (void)cudaFreeAsync(p, stream);
    else (void)cudaFree(p);  // synchronises the device, so in-flight work has finished with p
    (void)cudaGetLastError();
}

DeviceState::~DeviceState() {
    if (released) return;
    // Best effort at teardown.
    for (void* p : pending_free) (void)cudaFree(p);
    if (stream) (void)cudaStreamDestroy(stream);
    (void)cudaGetLastError();
}

namespace {
// Why the stream-ordered pool cannot be used on `index` ("" when it can): JANUS_CUDA_NO_POOL=1, no
// pool support reported, or a probe allocation that fails (sandboxes that accept the calls but not
// the allocation).
std::string pool_unavailable(int index, cudaStream_t s) {
    const char* env = std::getenv("JANUS_CUDA_NO_POOL");
    if (env && *env && std::strcmp(env, "0") != 0) return "JANUS_CUDA_NO_POOL is set";
    int supported = 0;
    cudaError_t e = cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, index);
    if (e == cudaSuccess && !supported) return "the device/driver reports no memory-pool support";
    cudaMemPool_t pool;
    uint64_t keep = UINT64_MAX;  // keep freed blocks in the pool for stream-ordered reuse
    if (e == cudaSuccess) e = cudaDeviceGetDefaultMemPool(&pool, index);
    if (e == cudaSuccess) e = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    void* p = nullptr;
    if (e == cudaSuccess) e = cudaMallocAsync(&p, 256, s);
    if (e == cudaSuccess) e = cudaFreeAsync(p, s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    if (e == cudaSuccess) return "";
    (void)cudaGetLastError();
    return std::string("the stream-ordered allocator failed (") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) +
           ")";
}
}  // namespace

CudaBackend::CudaBackend(int index) : index_(index), state_(std::make_shared<DeviceState>()) {
    int n = cuda_device_count();
    if (index < 0 || index >= n)
        throw Error("cuda:" + std::to_string(index) + " not available: " + std::to_string(n) +
                    " CUDA device(s) found. Use --device cpu.");
    state_->device = index;
    JANUS_CUDA_CHECK(cudaSetDevice(index));
    JANUS_CUDA_CHECK(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking));
    JANUS_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, index));
    if (std::string why = pool_unavailable(index, state_->stream); !why.empty()) {
        state_->pool = false;
        std::fprintf(stderr,
                     "janus: note: %s: %s; allocating with cudaMalloc/cudaFree instead of the stream-ordered pool "
                     "(correct, but each allocation and free synchronises the device)\n",
                     name().c_str(), why.c_str());
    }
    JANUS_CUBLAS_CHECK(cublasCreate(&blas_));
    JANUS_CUBLAS_CHECK(cublasSetStream(blas_, state_->stream));
    // A fixed workspace keeps cuBLAS from allocating inside graph capture.
    constexpr size_t kBlasWorkspace = 32u << 20;
    JANUS_CUDA_CHECK(cudaMalloc(&blas_workspace_, kBlasWorkspace));
    JANUS_CUBLAS_CHECK(cublasSetWorkspace(blas_, blas_workspace_, kBlasWorkspace));
    JANUS_CUBLAS_CHECK(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH));  // no TF32: f32 stays f32
    JANUS_CUDA_CHECK(cudaMalloc(&err_, 2 * sizeof(int)));
    JANUS_CUDA_CHECK(cudaMemset(err_, 0, 2 * sizeof(int)));
    // Reserve scratch up front so the first captured step (e.g. a bf16 prefill GEMM, sampling) finds
    // it; chunked ops size their chunks to it while capturing.
    scratch(64u << 20);
    std::lock_guard<std::mutex> lock(live_mutex());
    static bool registered = false;
    if (!registered) registered = std::atexit(release_all_at_exit) == 0;
    live_backends().push_back(this);
}

void CudaBackend::release_handles() noexcept {
    (void)cudaSetDevice(index_);
    if (state_->stream && !state_->released) (void)cudaStreamSynchronize(state_->stream);
    if (exec_) (void)cudaGraphExecDestroy(exec_);
    if (graph_) (void)cudaGraphDestroy(graph_);
    if (blas_) (void)cublasDestroy(blas_);
    if (blas_workspace_) (void)cudaFree(blas_workspace_);
    if (err_) (void)cudaFree(err_);
    if (scratch_) (void)cudaFree(scratch_);
    exec_ = nullptr;
    graph_ = nullptr;
    blas_ = nullptr;
    blas_workspace_ = nullptr;
    err_ = nullptr;
    scratch_ = nullptr;
    scratch_bytes_ = 0;
    (void)cudaGetLastError();
}

void CudaBackend::release_at_exit() noexcept {
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        if (state_->released) return;
        if (state_->capturing) {  // a capture left open: end it first (nothing else may run meanwhile)
            (void)cudaSetDevice(index_);
            cudaGraph_t g = nullptr;
            if (cudaStreamEndCapture(state_->stream, &g) == cudaSuccess && g) (void)cudaGraphDestroy(g);
            state_->capturing = false;
        }
    }
    index_staging_ = Tensor();
    release_handles();
    std::lock_guard<std::mutex> lock(state_->mutex);
    for (void* p : state_->pending_free) (void)cudaFree(p);
    state_->pending_free.clear();
    if (state_->stream) (void)cudaStreamDestroy(state_->stream);
    state_->stream = nullptr;
    state_->released = true;  // tensors still alive (statics) no longer free anything
    (void)cudaGetLastError();
}

CudaBackend::~CudaBackend() {
    {
        std::lock_guard<std::mutex> lock(live_mutex());
        auto& v = live_backends();
        v.erase(std::remove(v.begin(), v.end(), this), v.end());
    }
    index_staging_ = Tensor();
    release_handles();
}

void CudaBackend::activate() const { JANUS_CUDA_CHECK(cudaSetDevice(index_)); }

bool CudaBackend::capturing() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->capturing;
}

Tensor CudaBackend::alloc(DType dtype, const Shape& shape) {
    for (int i = 0; i < shape.ndim; i++)
        if (shape.d[i] < 0) fail("alloc", "negative dimension in " + shape.str());
    size_t elem = dtype_size(dtype);
    if (elem == 0) fail("alloc", std::string("dtype ") + dtype_name(dtype) + " is not element-addressable");
    size_t bytes = size_t(shape.numel()) * elem;
    if (bytes == 0) return Tensor(nullptr, dtype, shape, device());
    if (capturing())
        fail("alloc", "cannot allocate " + shape.str() + " while a graph is being captured; allocate the step's "
                      "buffers before begin_capture()");
    activate();
    size_t rounded = (bytes + 255) / 256 * 256;
    void* p = nullptr;
    cudaStream_t s = stream();
    const bool pool = state_->pool;
    cudaError_t e = pool ? cudaMallocAsync(&p, rounded, s) : cudaMalloc(&p, rounded);
    if (e == cudaErrorMemoryAllocation && pool) {  // give cached pool blocks back to the driver and retry once
        (void)cudaGetLastError();
        cudaMemPool_t pool;
        if (cudaStreamSynchronize(s) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, index_) == cudaSuccess)
            (void)cudaMemPoolTrimTo(pool, 0);
        e = cudaMallocAsync(&p, rounded, s);
    }
    size_t free_b = 0, total_b = 0;
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        (void)cudaMemGetInfo(&free_b, &total_b);
    }
    // Absurd sizes may come back as another error code than cudaErrorMemoryAllocation; a request
    // above the free memory is reported as what it is either way.
    if (e == cudaErrorMemoryAllocation || (e != cudaSuccess && bytes > free_b)) {
        auto mib = [](double b) { return std::to_string(int64_t(b / (1 << 20))); };
        throw Error(name() + ": out of device memory allocating " + std::string(dtype_name(dtype)) + shape.str() +
                    ": needed " + mib(double(bytes)) + " MiB, " + mib(double(free_b)) + " MiB free of " +
                    mib(double(total_b)) + " MiB (this process holds " +
                    mib(double(state_->allocated.load())) +
                    " MiB in tensors). Use a smaller model, fewer parallel images, or --device cpu.");
    }
    if (e != cudaSuccess) throw_cuda_error(e, pool ? "cudaMallocAsync" : "cudaMalloc", __FILE__, __LINE__);
    state_->allocated.fetch_add(int64_t(rounded));
    std::shared_ptr<DeviceState> st = state_;
    std::shared_ptr<void> owner(p, [st, rounded](void* q) {
        st->allocated.fetch_sub(int64_t(rounded));
        std::lock_guard<std::mutex> lock(st->mutex);
        if (st->capturing) st->pending_free.push_back(q);  // freeing now would become a node of the graph
        else st->free_now(q);
    });
    return Tensor(p, dtype, shape, device(), std::move(owner));
}

void CudaBackend::zero(const Tensor& t) {
    check_on(*this, "zero", "tensor", t);
    if (!t.nbytes()) return;
    activate();
    JANUS_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, t.nbytes(), stream()));
}

void CudaBackend::copy(const Tensor& dst, const Tensor& src) {
    if (!dst.defined() || !src.defined()) fail("copy", "dst and src must be defined");
    for (const Tensor* t : {&dst, &src})
        if (!t->is_cpu() && !(t->device() == device()))
            fail("copy", (t == &dst ? "dst is " : "src is ") + t->str() + "; this backend copies between the host and " +
                             name() + " only");
    if (dst.dtype() != src.dtype())
        fail("copy", "dst is " + dst.str() + " but src is " + src.str() + "; use convert() to change dtype");
    check_numel("copy", "dst", dst, src.numel());
    if (!dst.nbytes() || dst.data() == src.data()) return;
    if (dst.is_cpu() && src.is_cpu()) {  // host to host: as the CPU backend (overlap allowed)
        std::memmove(dst.data(), src.data(), src.nbytes());
        return;
    }
    bool host = dst.is_cpu() || src.is_cpu();
    const char *d0 = static_cast<const char*>(dst.data()), *s0 = static_cast<const char*>(src.data());
    if (!host && d0 < s0 + src.nbytes() && s0 < d0 + dst.nbytes()) {
        copy_overlapping(dst, src);  // cudaMemcpy is undefined on overlapping ranges; memmove semantics
        return;
    }
    if (host && capturing())
        fail("copy", "copies to or from host memory cannot be captured in a graph; stage " + src.str() +
                         " on the device before begin_capture()");
    activate();
    JANUS_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), src.nbytes(), cudaMemcpyDefault, stream()));
    if (host) JANUS_CUDA_CHECK(cudaStreamSynchronize(stream()));  // host side is ready on return
}

// Overlapping device ranges: stage chunks through scratch, front to back when dst lies below src, back
// to front otherwise, so no source byte is overwritten before it has been staged (memmove semantics).
void CudaBackend::copy_overlapping(const Tensor& dst, const Tensor& src) {
    const size_t n = src.nbytes();
    size_t chunk = capturing() ? scratch_bytes_ : std::min<size_t>(n, 64u << 20);
    if (chunk == 0) fail("copy", "no scratch reserved for an overlapping copy");
    char* tmp = static_cast<char*>(scratch(chunk));
    activate();
    char* d = static_cast<char*>(dst.data());
    const char* s = static_cast<const char*>(src.data());
    const bool forward = d < s;
    for (size_t done = 0; done < n;) {
        size_t c = std::min(chunk, n - done);
        size_t off = forward ? done : n - done - c;
        JANUS_CUDA_CHECK(cudaMemcpyAsync(tmp, s + off, c, cudaMemcpyDeviceToDevice, stream()));
        JANUS_CUDA_CHECK(cudaMemcpyAsync(d + off, tmp, c, cudaMemcpyDeviceToDevice, stream()));
        done += c;
    }
}

Tensor CudaBackend::upload(const Tensor& t) {
    if (!t.defined()) fail("upload", "tensor is undefined");
    if (t.device() == device()) return t;
    if (!t.is_cpu()) fail("upload", t.str() + " is on another device; copy it to the host first");
    Tensor d = alloc(t.dtype(), t.shape());
    copy(d, t);
    return d;
}

void CudaBackend::synchronize() {
    if (capturing()) fail("synchronize", "called while capturing a graph; call end_capture() first");
    activate();
    JANUS_CUDA_CHECK(cudaStreamSynchronize(stream()));
    check_error_word("synchronize");
}

MemoryInfo CudaBackend::memory() const {
    activate();
    size_t free_b = 0, total_b = 0;
    JANUS_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    MemoryInfo m;
    m.total = total_b;
    m.available = free_b;
    m.allocated = size_t(state_->allocated.load());
    return m;
}

void* CudaBackend::scratch(size_t bytes) {
    if (bytes <= scratch_bytes_) return scratch_;
    if (capturing())
        fail("scratch", "the step needs " + std::to_string(bytes) + " bytes of scratch but only " +
                            std::to_string(scratch_bytes_) + " are reserved; run the step once without capture "
                            "before capturing it");
    activate();
    size_t want = (bytes + bytes / 2 + (2u << 20) - 1) / (2u << 20) * (2u << 20);
    if (scratch_) JANUS_CUDA_CHECK(state_->pool ? cudaFreeAsync(scratch_, stream()) : cudaFree(scratch_));
    scratch_ = nullptr;
    scratch_bytes_ = 0;
    // A recorded graph may point into the old scratch: drop it (replay() then asks for a re-capture).
    if (exec_) (void)cudaGraphExecDestroy(exec_);
    exec_ = nullptr;
    cudaError_t e = state_->pool ? cudaMallocAsync(&scratch_, want, stream()) : cudaMalloc(&scratch_, want);
    if (e != cudaSuccess) {
        scratch_ = nullptr;
        throw_cuda_error(e, ("allocating scratch of " + std::to_string(want >> 20) + " MiB").c_str(), __FILE__,
                         __LINE__);
    }
    scratch_bytes_ = want;
    return scratch_;
}

void CudaBackend::check_error_word(const char* op) {
    int h[2] = {0, 0};
    JANUS_CUDA_CHECK(cudaMemcpyAsync(h, err_, sizeof h, cudaMemcpyDeviceToHost, stream()));
    JANUS_CUDA_CHECK(cudaStreamSynchronize(stream()));
    if (h[0] == kErrNone) return;
    JANUS_CUDA_CHECK(cudaMemsetAsync(err_, 0, 2 * sizeof(int), stream()));
    if (h[0] == kErrEmbeddingId)
        fail(op, "embedding: token id " + std::to_string(h[1]) +
                     " is outside the table's rows (tokenizer and checkpoint do not match?); the row was zero-filled");
    fail(op, "device error code " + std::to_string(h[0]));
}

Tensor CudaBackend::device_indices(const char* op, const char* arg, const Tensor& t) {
    if (!t.defined()) fail(op, std::string(arg) + " is undefined");
    if (t.dtype() != DType::i32) fail(op, std::string(arg) + " is " + t.str() + " but must be i32");
    if (t.device() == device()) return t;
    if (!t.is_cpu()) fail(op, std::string(arg) + " is " + t.str() + " but must be on the host or " + name());
    if (capturing())
        fail(op, std::string(arg) + " is on the host; inside a captured step index tensors must live on " + name());
    if (!index_staging_.defined() || index_staging_.numel() < t.numel())
        index_staging_ = alloc(DType::i32, Shape{std::max<int64_t>(t.numel(), 4096)});
    Tensor view(index_staging_.data(), DType::i32, t.shape(), device(), index_staging_.owner());
    copy(view, t);
    return view;
}

// ---- graphs -------------------------------------------------------------------------------------------
bool CudaBackend::begin_capture() {
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        if (state_->capturing) fail("begin_capture", "already capturing; call end_capture() first");
    }
    activate();
    check_error_word("begin_capture");  // also makes sure nothing is pending on the stream
    JANUS_CUDA_CHECK(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal));
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->capturing = true;
    return true;
}

void CudaBackend::end_capture() {
    activate();
    cudaGraph_t g = nullptr;
    cudaError_t e = cudaStreamEndCapture(stream(), &g);
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        state_->capturing = false;
        for (void* p : state_->pending_free) state_->free_now(p);
        state_->pending_free.clear();
    }
    if (e != cudaSuccess) {
        if (g) (void)cudaGraphDestroy(g);
        throw_cuda_error(e, "cudaStreamEndCapture (an op inside the captured step failed or was not capturable)",
                         __FILE__, __LINE__);
    }
    size_t nodes = 0;
    JANUS_CUDA_CHECK(cudaGraphGetNodes(g, nullptr, &nodes));
    if (nodes == 0) {  // nothing recorded (e.g. an abandoned capture): keep the previous recording
        (void)cudaGraphDestroy(g);
        return;
    }
    // Same topology as the last recording (a decode step with new positions / cache length): update the
    // executable graph in place, which is much cheaper than instantiating a new one.
    bool updated = false;
    if (exec_) {
        cudaGraphExecUpdateResultInfo info{};
        updated = cudaGraphExecUpdate(exec_, g, &info) == cudaSuccess;
        if (!updated) {
            (void)cudaGetLastError();
            (void)cudaGraphExecDestroy(exec_);
            exec_ = nullptr;
        }
    }
    if (!updated) {
        cudaError_t ie = cudaGraphInstantiate(&exec_, g, 0);
        if (ie != cudaSuccess) {
            exec_ = nullptr;
            (void)cudaGraphDestroy(g);
            throw_cuda_error(ie, "cudaGraphInstantiate", __FILE__, __LINE__);
        }
    }
    if (graph_) (void)cudaGraphDestroy(graph_);
    graph_ = g;
}

void CudaBackend::abort_capture() {
    if (!capturing()) return;
    activate();
    cudaGraph_t g = nullptr;
    cudaError_t e = cudaStreamEndCapture(stream(), &g);  // also ends an invalidated capture
    if (e == cudaSuccess && g) (void)cudaGraphDestroy(g);
    (void)cudaGetLastError();
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        state_->capturing = false;
        for (void* p : state_->pending_free) state_->free_now(p);
        state_->pending_free.clear();
    }
    // The last recording is not the step the caller was recording: replay() must not run it.
    if (exec_) (void)cudaGraphExecDestroy(exec_);
    exec_ = nullptr;
}

void CudaBackend::replay() {
    if (capturing()) fail("replay", "called while capturing; call end_capture() first");
    if (!exec_)
        fail("replay", "no recorded step (nothing captured yet, or the scratch buffer grew since): capture the step "
                       "again with begin_capture()/end_capture()");
    activate();
    JANUS_CUDA_CHECK(cudaGraphLaunch(exec_, stream()));
}

// ---- elementwise -----------------------------------------------------------------------------------------
namespace {

template <class F>
__global__ void map_kernel(int64_t n, F f) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        f(i);
}

template <class F>
void launch_map(const CudaBackend& b, int64_t n, F f) {
    if (n <= 0) return;
    map_kernel<<<grid_for(n), 256, 0, b.stream()>>>(n, f);
    JANUS_CUDA_LAUNCH_CHECK("map_kernel");
}

void check_unary(const CudaBackend& b, const char* op, const Tensor& y, const Tensor& x) {
    check_f32(b, op, "y", y);
    check_f32(b, op, "x", x);
    check_same_shape(op, "y", y, "x", x);
}

}  // namespace

void binary_op(CudaBackend& be, const char* op, const Tensor& y, const Tensor& a, const Tensor& b, bool is_mul) {
    check_f32(be, op, "y", y);
    check_f32(be, op, "a", a);
    check_f32(be, op, "b", b);
    check_same_shape(op, "y", y, "a", a);
    be.activate();
    float* py = y.ptr<float>();
    const float* pa = a.ptr<float>();
    const float* pb = b.ptr<float>();
    int64_t n = a.numel();
    if (b.shape() == a.shape()) {
        if (is_mul) launch_map(be, n, [=] __device__(int64_t i) { py[i] = pa[i] * pb[i]; });
        else launch_map(be, n, [=] __device__(int64_t i) { py[i] = pa[i] + pb[i]; });
        return;
    }
    if (a.ndim() >= 1 && b.ndim() == 1 && b.dim(0) == a.dim(-1)) {
        int64_t N = b.dim(0);
        if (is_mul) launch_map(be, n, [=] __device__(int64_t i) { py[i] = pa[i] * pb[i % N]; });
        else launch_map(be, n, [=] __device__(int64_t i) { py[i] = pa[i] + pb[i % N]; });
        return;
    }
    fail(op, "b " + b.shape().str() + " must have a's shape " + a.shape().str() + " or be a vector of a's last dim");
}

void CudaBackend::add(const Tensor& y, const Tensor& a, const Tensor& b) { binary_op(*this, "add", y, a, b, false); }
void CudaBackend::mul(const Tensor& y, const Tensor& a, const Tensor& b) { binary_op(*this, "mul", y, a, b, true); }

void CudaBackend::scale(const Tensor& y, const Tensor& x, float s) {
    check_unary(*this, "scale", y, x);
    activate();
    float* py = y.ptr<float>();
    const float* px = x.ptr<float>();
    launch_map(*this, x.numel(), [=] __device__(int64_t i) { py[i] = px[i] * s; });
}

void CudaBackend::silu(const Tensor& y, const Tensor& x) {
    check_unary(*this, "silu", y, x);
    activate();
    float* py = y.ptr<float>();
    const float* px = x.ptr<float>();
    launch_map(*this, x.numel(), [=] __device__(int64_t i) { py[i] = px[i] / (1.0f + expf(-px[i])); });
}

void CudaBackend::gelu(const Tensor& y, const Tensor& x) {
    check_unary(*this, "gelu", y, x);
    activate();
    float* py = y.ptr<float>();
    const float* px = x.ptr<float>();
    launch_map(*this, x.numel(),
               [=] __device__(int64_t i) { py[i] = 0.5f * px[i] * (1.0f + erff(px[i] * 0.70710678118654752f)); });
}

void CudaBackend::swiglu(const Tensor& y, const Tensor& gate, const Tensor& up) {
    check_f32(*this, "swiglu", "y", y);
    check_f32(*this, "swiglu", "gate", gate);
    check_f32(*this, "swiglu", "up", up);
    check_same_shape("swiglu", "y", y, "gate", gate);
    check_same_shape("swiglu", "up", up, "gate", gate);
    activate();
    float* py = y.ptr<float>();
    const float* pg = gate.ptr<float>();
    const float* pu = up.ptr<float>();
    launch_map(*this, y.numel(), [=] __device__(int64_t i) { py[i] = pg[i] / (1.0f + expf(-pg[i])) * pu[i]; });
}

void CudaBackend::round_to_bf16(const Tensor& x) {
    check_f32(*this, "round_to_bf16", "x", x);
    activate();
    float* p = x.ptr<float>();
    launch_map(*this, x.numel(), [=] __device__(int64_t i) { p[i] = round_bf16_dev(p[i]); });
}

namespace {
template <class S>
void convert_from(const CudaBackend& be, const Tensor& y, const S* src, int64_t n) {
    switch (y.dtype()) {
        case DType::f32: {
            float* d = y.ptr<float>();
            launch_map(be, n, [=] __device__(int64_t i) { d[i] = to_f32(src[i]); });
            break;
        }
        case DType::bf16: {
            uint16_t* d = y.ptr<uint16_t>();
            launch_map(be, n, [=] __device__(int64_t i) { d[i] = f32_to_bf16_bits(to_f32(src[i])); });
            break;
        }
        default: {
            __half* d = y.ptr<__half>();
            launch_map(be, n, [=] __device__(int64_t i) { d[i] = __float2half_rn(to_f32(src[i])); });
            break;
        }
    }
}
}  // namespace

void CudaBackend::convert(const Tensor& y, const Tensor& x) {
    check_float(*this, "convert", "y", y);
    check_float(*this, "convert", "x", x);
    check_numel("convert", "y", y, x.numel());
    int64_t n = x.numel();
    if (y.dtype() == x.dtype()) {  // a copy, overlap included (the CPU backend memmoves)
        copy(y, x);
        return;
    }
    // As the CPU backend: no aliasing across dtypes. A partial overlap is refused too (on the CPU its
    // result depends on the thread split; here on the order blocks run).
    if (n && x.data() == y.data()) fail("convert", "y must not alias x when the dtypes differ");
    const char *yb = static_cast<const char*>(y.data()), *xb = static_cast<const char*>(x.data());
    if (n && yb < xb + x.nbytes() && xb < yb + y.nbytes())
        fail("convert", "y " + y.str() + " overlaps x " + x.str() + " and the dtypes differ: convert into a separate "
                        "buffer");
    activate();
    switch (x.dtype()) {
        case DType::f32: convert_from(*this, y, x.ptr<float>(), n); break;
        case DType::bf16: convert_from(*this, y, x.ptr<__nv_bfloat16>(), n); break;
        default: convert_from(*this, y, x.ptr<__half>(), n); break;
    }
}

// ---- embedding -------------------------------------------------------------------------------------------
namespace {
template <class T>
__global__ void embedding_kernel(float* out, const T* table, const int32_t* ids, int64_t V, int64_t D, int* err) {
    int64_t i = blockIdx.x;
    int32_t id = ids[i];
    float* o = out + i * D;
    if (id < 0 || id >= V) {
        if (threadIdx.x == 0 && atomicCAS(err, kErrNone, kErrEmbeddingId) == kErrNone) err[1] = id;
        for (int64_t j = threadIdx.x; j < D; j += blockDim.x) o[j] = 0.0f;
        return;
    }
    const T* row = table + int64_t(id) * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) o[j] = to_f32(row[j]);
}
}  // namespace

void CudaBackend::embedding(const Tensor& out, const Tensor& table, const Tensor& ids_in) {
    const char* op = "embedding";
    check_f32(*this, op, "out", out);
    check_float(*this, op, "table", table);
    if (table.ndim() != 2) fail(op, "table is " + table.str() + " but must be [V, D]");
    int64_t V = table.dim(0), D = table.dim(1), n = ids_in.numel();
    if (out.numel() != n * D || (out.ndim() > 0 && out.dim(-1) != D))
        fail(op, "out is " + out.str() + " but must be [" + std::to_string(n) + ", " + std::to_string(D) + "]");
    if (ids_in.defined() && ids_in.is_cpu() && ids_in.dtype() == DType::i32) {  // host ids: check like the CPU
        const int32_t* id = ids_in.ptr<int32_t>();
        for (int64_t i = 0; i < n; i++)
            if (id[i] < 0 || id[i] >= V)
                fail(op, "token id " + std::to_string(id[i]) + " at position " + std::to_string(i) +
                             " is outside the table's [0, " + std::to_string(V) +
                             ") rows (tokenizer and checkpoint do not match?)");
    }
    Tensor ids = device_indices(op, "ids", ids_in);
    if (n == 0 || D == 0) return;
    activate();
    float* o = out.ptr<float>();
    const int32_t* pi = ids.ptr<int32_t>();
    int threads = D >= 256 ? 256 : 64;
    switch (table.dtype()) {
        case DType::f32:
            embedding_kernel<<<unsigned(n), threads, 0, stream()>>>(o, table.ptr<float>(), pi, V, D, err_);
            break;
        case DType::bf16:
            embedding_kernel<<<unsigned(n), threads, 0, stream()>>>(o, table.ptr<__nv_bfloat16>(), pi, V, D, err_);
            break;
        default:
            embedding_kernel<<<unsigned(n), threads, 0, stream()>>>(o, table.ptr<__half>(), pi, V, D, err_);
            break;
    }
    JANUS_CUDA_LAUNCH_CHECK("embedding_kernel");
    if (!ids_in.is_cpu() && !capturing()) check_error_word(op);  // host ids were checked above
}

}  // namespace cuda
}  // namespace janus
