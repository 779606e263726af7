// CPU backend determinism: every op that is split over threads must give bitwise identical results
// for 1, 2 and 3 threads (the backend partitions outputs, never a reduction). Also checks that a CPU
// backend reports its thread count and that the op table registered cases.
#include <cstring>
#include <memory>

#include "kernels/cpu/cpu_backend.h"
#include "op_test.h"

namespace optest {
namespace {

using janus::MatmulPrecision;

// Runs `op` on a backend with `threads` threads and returns its f32 output.
using OpRun = std::function<std::vector<float>(Backend&)>;

void expect_same_for_thread_counts(const OpRun& op, const std::string& what) {
    auto be1 = janus::make_cpu_backend(1);
    ASSERT_EQ(be1->threads(), 1);
    std::vector<float> ref = op(*be1);
    for (int t : {2, 3}) {
        auto be = janus::make_cpu_backend(t);
        ASSERT_EQ(be->threads(), t);
        expect_bitwise(op(*be), ref, what + " with " + std::to_string(t) + " threads vs 1");
    }
}

OpRun matmul_run(int M, int N, int K, DType wt, MatmulPrecision p) {
    return [=](Backend& be) {
        std::vector<float> x = uniform(size_t(M) * K, 1), w = uniform(size_t(N) * K, 2), b = uniform(size_t(N), 3);
        Tensor tx = host_tensor(DType::f32, {M, K}, x), tw = host_tensor(wt, {N, K}, w);
        Tensor tb = host_tensor(DType::f32, {N}, b), ty = Tensor::empty(DType::f32, {M, N});
        be.matmul(ty, tx, tw, tb, p, false);
        return ty.to_f32_vector();
    };
}

TEST(CpuDeterminism, MatmulGemvBf16) { expect_same_for_thread_counts(matmul_run(1, 1000, 768, DType::bf16, MatmulPrecision::f32), "gemv"); }
TEST(CpuDeterminism, MatmulGemvBf16Dot) { expect_same_for_thread_counts(matmul_run(1, 777, 1030, DType::bf16, MatmulPrecision::bf16), "gemv bf16 dot"); }
TEST(CpuDeterminism, MatmulGemmM32Bf16) { expect_same_for_thread_counts(matmul_run(32, 300, 512, DType::bf16, MatmulPrecision::bf16), "gemm M=32"); }
TEST(CpuDeterminism, MatmulGemmOddF32) { expect_same_for_thread_counts(matmul_run(7, 33, 65, DType::f32, MatmulPrecision::f32), "gemm 7x33x65"); }
TEST(CpuDeterminism, MatmulGemmPackedF32) { expect_same_for_thread_counts(matmul_run(70, 50, 1100, DType::f32, MatmulPrecision::f32), "gemm packed 70x50x1100"); }
TEST(CpuDeterminism, MatmulGemmPrefillF16) { expect_same_for_thread_counts(matmul_run(150, 260, 333, DType::f16, MatmulPrecision::f32), "gemm 150x260x333"); }

TEST(CpuDeterminism, Attention) {
    expect_same_for_thread_counts(
        [](Backend& be) {
            std::vector<float> q = uniform(6 * 8 * 64, 4), k = uniform(40 * 2 * 64, 5), v = uniform(40 * 2 * 64, 6);
            Tensor tq = host_tensor(DType::f32, {6, 8, 64}, q), tk = host_tensor(DType::bf16, {40, 2, 64}, k);
            Tensor tv = host_tensor(DType::bf16, {40, 2, 64}, v), to = Tensor::empty(DType::f32, {6, 8, 64});
            be.attention(to, tq, tk, tv, 0.125f, 30);
            return to.to_f32_vector();
        },
        "attention");
}

TEST(CpuDeterminism, AttentionDecodeSplitsHeads) {
    // Tq = 1: the kv heads are split over the threads, differently for each thread count.
    expect_same_for_thread_counts(
        [](Backend& be) {
            std::vector<float> q = uniform(1 * 12 * 64, 14), k = uniform(77 * 6 * 64, 15), v = uniform(77 * 6 * 64, 16);
            Tensor tq = host_tensor(DType::f32, {1, 12, 64}, q), tk = host_tensor(DType::bf16, {77, 6, 64}, k);
            Tensor tv = host_tensor(DType::f16, {77, 6, 64}, v), to = Tensor::empty(DType::f32, {1, 12, 64});
            be.attention(to, tq, tk, tv, 0.125f, 76);
            return to.to_f32_vector();
        },
        "attention decode");
}

TEST(CpuDeterminism, AttentionMultiBatch) {
    // A decode batch of 3 sequences (kv heads split differently per thread count) plus a prefill chunk.
    expect_same_for_thread_counts(
        [](Backend& be) {
            std::vector<float> q = uniform(8 * 12 * 64, 24), k = uniform(4 * 50 * 6 * 64, 25), v = uniform(4 * 50 * 6 * 64, 26);
            Tensor tq = host_tensor(DType::f32, {8, 12, 64}, q), tk = host_tensor(DType::bf16, {4, 50, 6, 64}, k);
            Tensor tv = host_tensor(DType::bf16, {4, 50, 6, 64}, v), to = Tensor::empty(DType::f32, {8, 12, 64});
            std::vector<Backend::AttentionSeq> batch;
            const int64_t rows[4][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 8}}, start[4] = {49, 10, 30, 20};
            for (int s = 0; s < 4; s++) {
                const int64_t n = rows[s][1] - rows[s][0];
                batch.push_back({to.rows(rows[s][0], rows[s][1]), tq.rows(rows[s][0], rows[s][1]),
                                 tk.rows(s, s + 1).reshape({50, 6, 64}).rows(0, start[s] + n),
                                 tv.rows(s, s + 1).reshape({50, 6, 64}).rows(0, start[s] + n), start[s]});
            }
            be.attention_multi(batch, 0.125f);
            return to.to_f32_vector();
        },
        "attention_multi");
}

TEST(CpuDeterminism, AttentionLongNonCausal) {
    // >= 32 rows, non-causal: the tiled flash kernel, one item per (head, 4 rows).
    expect_same_for_thread_counts(
        [](Backend& be) {
            std::vector<float> q = uniform(45 * 4 * 40, 34), k = uniform(70 * 2 * 40, 35), v = uniform(70 * 2 * 40, 36);
            Tensor tq = host_tensor(DType::f32, {45, 4, 40}, q), tk = host_tensor(DType::f32, {70, 2, 40}, k);
            Tensor tv = host_tensor(DType::bf16, {70, 2, 40}, v), to = Tensor::empty(DType::f32, {45, 4, 40});
            be.attention(to, tq, tk, tv, 0.15f, -1);
            return to.to_f32_vector();
        },
        "attention long non-causal");
}

TEST(CpuDeterminism, Conv2d) {
    expect_same_for_thread_counts(
        [](Backend& be) {
            std::vector<float> x = uniform(1 * 16 * 20 * 20, 7), w = uniform(24 * 16 * 9, 8);
            Tensor tx = host_tensor(DType::f32, {1, 16, 20, 20}, x), tw = host_tensor(DType::bf16, {24, 16, 3, 3}, w);
            Tensor ty = Tensor::empty(DType::f32, {1, 24, 20, 20});
            be.conv2d(ty, tx, tw, Tensor(), janus::Conv2dParams::same(1));
            return ty.to_f32_vector();
        },
        "conv2d");
}

TEST(CpuDeterminism, Conv2dWinograd) {
    // W = 70 takes the AVX-512 Winograd path: 5 × 18 tiles, whole-image mode (phases split over channels / ξ).
    expect_same_for_thread_counts(
        [](Backend& be) {
            std::vector<float> x = uniform(2 * 12 * 18 * 70, 11), w = uniform(13 * 12 * 9, 12), b = uniform(13, 13);
            Tensor tx = host_tensor(DType::f32, {2, 12, 18, 70}, x), tw = host_tensor(DType::f32, {13, 12, 3, 3}, w);
            Tensor tb = host_tensor(DType::f32, {13}, b), ty = Tensor::empty(DType::f32, {2, 13, 18, 70});
            be.conv2d(ty, tx, tw, tb, janus::Conv2dParams::same(1));
            return ty.to_f32_vector();
        },
        "conv2d winograd");
    // 10 × 50 tiles: the per-block mode (8 blocks of 64 tiles).
    expect_same_for_thread_counts(
        [](Backend& be) {
            std::vector<float> x = uniform(1 * 6 * 40 * 200, 14), w = uniform(7 * 6 * 9, 15);
            Tensor tx = host_tensor(DType::f32, {1, 6, 40, 200}, x), tw = host_tensor(DType::f32, {7, 6, 3, 3}, w);
            Tensor ty = Tensor::empty(DType::f32, {1, 7, 40, 200});
            be.conv2d(ty, tx, tw, Tensor(), janus::Conv2dParams::same(1));
            return ty.to_f32_vector();
        },
        "conv2d winograd blocks");
}

TEST(CpuDeterminism, NormsSoftmaxRope) {
    expect_same_for_thread_counts(
        [](Backend& be) {
            std::vector<float> x = uniform(64 * 256, 9), w = uniform(256, 10);
            Tensor tx = host_tensor(DType::f32, {64, 256}, x), tw = host_tensor(DType::bf16, {256}, w);
            Tensor ty = Tensor::empty(DType::f32, {64, 256});
            be.rms_norm(ty, tx, tw, 1e-6f, true);
            be.softmax(ty);
            Tensor t3 = ty.reshape({64, 2, 128});
            std::vector<int32_t> pos(64);
            for (int i = 0; i < 64; i++) pos[i] = 3 * i;
            std::vector<float> inv(64);
            for (int j = 0; j < 64; j++) inv[j] = float(std::pow(10000.0, -j / 64.0));
            be.rope(t3, host_i32({64}, pos), host_tensor(DType::f32, {64}, inv), true);
            Tensor g = Tensor::empty(DType::f32, {4, 64, 8, 8});
            Tensor gx = host_tensor(DType::f32, {4, 64, 8, 8}, x);
            be.group_norm(g, gx, Tensor(), Tensor(), 32, 1e-6f, true);
            std::vector<float> out = ty.to_f32_vector(), gv = g.to_f32_vector();
            out.insert(out.end(), gv.begin(), gv.end());
            return out;
        },
        "rms_norm + softmax + rope + group_norm");
}

TEST(OpTableRegistry, HasCases) { EXPECT_GT(op_cases().size(), 100u); }

}  // namespace
}  // namespace optest
