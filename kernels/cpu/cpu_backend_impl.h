// CpuBackend: the class behind make_cpu_backend (kernels/cpu/cpu_backend.h). Its op methods are
// spread over kernels/cpu/cpu_*.cpp by topic (memory + elementwise, matmul, norms, attention, conv).
// Internal to kernels/cpu; model code uses janus::Backend only.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "janus/error.h"
#include "kernels/backend.h"
#include "kernels/cpu/conv_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace janus::cpu {

struct AttentionArgs;  // kernels/cpu/attention_kernels.h

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int threads);

    std::string name() const override { return "cpu"; }
    Device device() const override { return Device{}; }
    Tensor alloc(DType dtype, const Shape& shape) override;
    void zero(const Tensor& t) override;
    void copy(const Tensor& dst, const Tensor& src) override;
    Tensor upload(const Tensor& t) override;
    void synchronize() override {}
    MemoryInfo memory() const override;
    int threads() const override { return pool_.size(); }

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
    void attention_multi(const std::vector<AttentionSeq>& seqs, float scale) override;
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

    ThreadPool& pool() { return pool_; }

private:
    void attention_all(const std::vector<AttentionArgs>& probs);  // cpu_attention.cpp
    void attention_flash(const AttentionArgs& a, void (*fn)(const AttentionArgs&, const float*, const float*, int64_t,
                                                            int64_t, int64_t, float*));
    void binary(const char* op, const Tensor& y, const Tensor& a, const Tensor& b, bool is_mul);
    void conv3x3_direct(Conv3x3RowFn fn, const Tensor& y, const Tensor& x, const std::vector<float>& wf,
                        const std::vector<float>& bias, int64_t Co, int64_t Ci, int64_t H, int64_t W);

    ThreadPool pool_;
    std::shared_ptr<std::atomic<int64_t>> allocated_ = std::make_shared<std::atomic<int64_t>>(0);
};

// ---- validation helpers shared by the cpu_*.cpp files ------------------------------------------
// Each throws janus::Error("cpu <op>: <argument> ...") naming the problem and the fix.
void check_host(const char* op, const char* arg, const Tensor& t);           // defined + on CPU
void check_f32(const char* op, const char* arg, const Tensor& t);            // + dtype f32
void check_float(const char* op, const char* arg, const Tensor& t);          // + f32/bf16/f16
void check_same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name,
                      const Tensor& b);
void check_numel(const char* op, const char* arg, const Tensor& t, int64_t numel);
[[noreturn]] void fail(const char* op, const std::string& message);

// n elements of an f32/bf16/f16 buffer, starting at element `offset`, converted to f32.
void load_f32(const void* src, DType t, int64_t offset, int64_t n, float* dst);
// Whole (small) parameter tensor as f32; an undefined tensor gives `n` copies of `fill`.
std::vector<float> param_f32(const Tensor& t, int64_t n, float fill);

}  // namespace janus::cpu
