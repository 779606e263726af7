// Backend registry: the always-present CPU backend and, when compiled in, CUDA devices.
#include <memory>
#include <mutex>

#include "janus/error.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#ifdef JANUS_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

namespace janus {

namespace {
std::mutex g_mutex;
std::unique_ptr<Backend> g_cpu;
int g_cpu_threads = 0;
#ifdef JANUS_HAVE_CUDA
std::vector<std::unique_ptr<Backend>> g_cuda;
#endif
}  // namespace

Backend& cpu_backend() {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_cpu) g_cpu = make_cpu_backend(g_cpu_threads);
    return *g_cpu;
}

void set_cpu_threads(int n) {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (n < 0) throw Error("--threads must be >= 0 (0 = one per physical core), got " + std::to_string(n));
    g_cpu_threads = n;
    g_cpu.reset();  // recreated lazily with the new thread count
}

static int cuda_count() {
#ifdef JANUS_HAVE_CUDA
    return cuda_device_count();
#else
    return 0;
#endif
}

Backend& get_backend(const std::string& spec) {
    if (spec.empty() || spec == "cpu") return cpu_backend();
    bool want_auto = spec == "auto";
    if (want_auto && cuda_count() == 0) return cpu_backend();
    int index = 0;
    if (!want_auto) {
        if (spec.rfind("cuda", 0) != 0)
            throw Error("unknown device '" + spec + "': use cpu, cuda, cuda:N or auto");
        if (spec.size() > 4) {
            if (spec[4] != ':' || spec.size() == 5) throw Error("bad device '" + spec + "': expected cuda:N");
            try {
                index = std::stoi(spec.substr(5));
            } catch (...) {
                throw Error("bad device '" + spec + "': expected cuda:N");
            }
        }
    }
#ifdef JANUS_HAVE_CUDA
    int n = cuda_count();
    if (index < 0 || index >= n)
        throw Error("device '" + spec + "' not available: " + std::to_string(n) +
                    " CUDA device(s) found. Use --device cpu.");
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_cuda.size() < size_t(n)) g_cuda.resize(size_t(n));
    if (!g_cuda[size_t(index)]) g_cuda[size_t(index)] = make_cuda_backend(index);
    return *g_cuda[size_t(index)];
#else
    (void)index;
    throw Error("device '" + spec + "' not available: this build has no CUDA backend "
                "(rebuild with -DJANUS_CUDA=ON on a machine with the CUDA toolkit) — use --device cpu");
#endif
}

std::vector<std::string> describe_backends() {
    std::vector<std::string> out;
    out.push_back(cpu_backend_description());
#ifdef JANUS_HAVE_CUDA
    int n = cuda_count();
    if (n == 0) out.push_back("cuda: compiled in, no device found");
    for (int i = 0; i < n; i++) out.push_back(cuda_device_description(i));
#else
    out.push_back("cuda: not compiled in");
#endif
    return out;
}

}  // namespace janus
