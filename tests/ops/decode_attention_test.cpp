// Decode attention at the text models' real shapes, on the CPU backend: q[1, H, Dh] (f32) against a
// bf16/f16 KV cache k/v[Tk, Hkv, Dh] with Tk spanning many key chunks of the split-key decode kernel
// (kernels/cpu/attention_decode_avx512.cpp; chunk boundaries at multiples of 32 keys). Checks:
//   - against a float64 reference over the stored (rounded) cache values, tolerance 1e-5 absolute +
//     1e-4 relative (f32 dot products, exp and sums, as tests/ops' attention cases);
//   - bitwise equality across 1, 2 and 3 threads (chunks are fixed, the merge runs in chunk order);
//   - attention_multi over a decode batch whose lengths straddle chunk boundaries (1, 31, 32, 33, 64,
//     65, 577) is bitwise equal to one attention() call per sequence.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/dtype.h"

using namespace janus;

namespace {

struct Problem {
    int Tk, H, Hkv, Dh;
    DType kv;
    std::vector<float> q, k, v;  // k/v hold the values the cache stores (already rounded to kv)
};

float round_to(DType t, float x) { return t == DType::bf16 ? round_bf16(x) : t == DType::f16 ? f16_to_f32(f32_to_f16(x)) : x; }

Problem make_problem(int Tk, int H, int Hkv, int Dh, DType kv, uint32_t seed) {
    Problem p{Tk, H, Hkv, Dh, kv, {}, {}, {}};
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.5f, 1.5f);
    p.q.resize(size_t(H) * Dh);
    for (float& x : p.q) x = u(rng);
    p.k.resize(size_t(Tk) * Hkv * Dh);
    p.v.resize(p.k.size());
    for (float& x : p.k) x = round_to(kv, u(rng));
    for (float& x : p.v) x = round_to(kv, 1.3f * u(rng));
    return p;
}

Tensor cache_tensor(const std::vector<float>& vals, DType t, const Shape& shape) {
    Tensor x = Tensor::empty(t, shape);
    for (size_t i = 0; i < vals.size(); i++) {
        if (t == DType::bf16) x.ptr<uint16_t>()[i] = f32_to_bf16(vals[i]);
        else if (t == DType::f16) x.ptr<uint16_t>()[i] = f32_to_f16(vals[i]);
        else x.ptr<float>()[i] = vals[i];
    }
    return x;
}

// out[H, Dh] of the last query (position Tk − 1, all Tk keys visible), in float64.
std::vector<double> reference(const Problem& p, float scale) {
    std::vector<double> out(size_t(p.H) * p.Dh);
    for (int h = 0; h < p.H; h++) {
        const int hk = h / (p.H / p.Hkv);
        std::vector<double> s(size_t(p.Tk));
        double mx = -INFINITY;
        for (int j = 0; j < p.Tk; j++) {
            double d = 0;
            for (int e = 0; e < p.Dh; e++) d += double(p.q[size_t(h) * p.Dh + e]) * p.k[(size_t(j) * p.Hkv + hk) * p.Dh + e];
            s[size_t(j)] = d * scale;
            mx = std::max(mx, s[size_t(j)]);
        }
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int e = 0; e < p.Dh; e++) {
            double o = 0;
            for (int j = 0; j < p.Tk; j++) o += s[size_t(j)] * p.v[(size_t(j) * p.Hkv + hk) * p.Dh + e];
            out[size_t(h) * p.Dh + e] = o / sum;
        }
    }
    return out;
}

std::vector<float> run(Backend& be, const Problem& p, float scale) {
    Tensor q = Tensor::from_f32(p.q, {1, p.H, p.Dh});
    Tensor k = cache_tensor(p.k, p.kv, {p.Tk, p.Hkv, p.Dh}), v = cache_tensor(p.v, p.kv, {p.Tk, p.Hkv, p.Dh});
    Tensor out = Tensor::zeros(DType::f32, {1, p.H, p.Dh});
    be.attention(out, q, k, v, scale, p.Tk - 1);
    return out.to_f32_vector();
}

void check_problem(const Problem& p, const std::string& what) {
    const float scale = float(1.0 / std::sqrt(double(p.Dh)));
    const std::vector<double> ref = reference(p, scale);
    std::vector<float> first;
    for (int threads : {1, 2, 3}) {
        auto be = make_cpu_backend(threads);
        std::vector<float> got = run(*be, p, scale);
        ASSERT_EQ(got.size(), ref.size());
        for (size_t i = 0; i < got.size(); i++)
            ASSERT_NEAR(got[i], ref[i], 1e-5 + 1e-4 * std::abs(ref[i])) << what << ", element " << i << ", " << threads << " threads";
        if (first.empty()) first = got;
        else EXPECT_EQ(std::memcmp(got.data(), first.data(), got.size() * sizeof(float)), 0)
                 << what << ": " << threads << " threads differ bitwise from 1 thread";
    }
}

}  // namespace

TEST(DecodeAttention, JanusPro1BShapeBf16Cache) {
    // Janus-Pro-1B: 16 heads = 16 kv heads, head dim 128 (facts §1.2); 577 keys = 18 full chunks + 1.
    check_problem(make_problem(577, 16, 16, 128, DType::bf16, 1), "janus-pro-1b bf16");
}

TEST(DecodeAttention, GqaShapesAndOtherCacheTypes) {
    // Qwen2-1.5B-like GQA (12 query heads on 2 kv heads), a head dim with a 16-lane tail (72), f16/f32 caches.
    check_problem(make_problem(1000, 12, 2, 128, DType::bf16, 2), "gqa 12/2 Dh128 bf16");
    check_problem(make_problem(300, 8, 4, 72, DType::bf16, 3), "gqa 8/4 Dh72 bf16");
    check_problem(make_problem(257, 16, 16, 128, DType::f16, 4), "Dh128 f16");
    check_problem(make_problem(96, 4, 4, 64, DType::f32, 5), "Dh64 f32");
    // H·Dh not a multiple of 16 (partials are packed H·(Dh + 2) floats per chunk, nothing may spill)
    check_problem(make_problem(100, 3, 1, 40, DType::f16, 6), "H3 Dh40 f16");
    check_problem(make_problem(70, 1, 1, 72, DType::bf16, 7), "H1 Dh72 bf16");
    check_problem(make_problem(65, 5, 5, 24, DType::f32, 8), "H5 Dh24 f32");
}

TEST(DecodeAttention, MultiBatchAcrossChunkBoundariesMatchesSingleCalls) {
    const int H = 16, Hkv = 16, Dh = 128, Tmax = 577;
    const int lengths[] = {1, 31, 32, 33, 64, 65, 577};
    const int S = int(std::size(lengths));
    const float scale = float(1.0 / std::sqrt(double(Dh)));
    Problem p = make_problem(S * Tmax, H, Hkv, Dh, DType::bf16, 9);
    std::vector<float> qv(size_t(S) * H * Dh);
    std::mt19937 rng(10);
    std::uniform_real_distribution<float> u(-1.5f, 1.5f);
    for (float& x : qv) x = u(rng);
    Tensor q = Tensor::from_f32(qv, {S, H, Dh});
    Tensor k = cache_tensor(p.k, DType::bf16, {S, Tmax, Hkv, Dh}), v = cache_tensor(p.v, DType::bf16, {S, Tmax, Hkv, Dh});
    for (int threads : {1, 2, 3}) {
        auto be = make_cpu_backend(threads);
        Tensor out = Tensor::zeros(DType::f32, {S, H, Dh}), single = Tensor::zeros(DType::f32, {S, H, Dh});
        std::vector<Backend::AttentionSeq> batch;
        for (int s = 0; s < S; s++) {
            const int n = lengths[s];
            Backend::AttentionSeq e{out.rows(s, s + 1), q.rows(s, s + 1),
                                    k.rows(s, s + 1).reshape({Tmax, Hkv, Dh}).rows(0, n),
                                    v.rows(s, s + 1).reshape({Tmax, Hkv, Dh}).rows(0, n), n - 1};
            be->attention(single.rows(s, s + 1), e.q, e.k, e.v, scale, n - 1);
            batch.push_back(e);
        }
        be->attention_multi(batch, scale);
        const std::vector<float> a = out.to_f32_vector(), b = single.to_f32_vector();
        EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << threads << " threads";
        // and each sequence matches its float64 reference
        for (int s = 0; s < S; s++) {
            Problem ps{lengths[s], H, Hkv, Dh, DType::bf16, {}, {}, {}};
            ps.q.assign(qv.begin() + long(s) * H * Dh, qv.begin() + long(s + 1) * H * Dh);
            const size_t slot = size_t(Tmax) * Hkv * Dh, used = size_t(lengths[s]) * Hkv * Dh;
            ps.k.assign(p.k.begin() + long(s * slot), p.k.begin() + long(s * slot + used));
            ps.v.assign(p.v.begin() + long(s * slot), p.v.begin() + long(s * slot + used));
            const std::vector<double> ref = reference(ps, scale);
            for (size_t i = 0; i < ref.size(); i++)
                ASSERT_NEAR(a[size_t(s) * H * Dh + i], ref[i], 1e-5 + 1e-4 * std::abs(ref[i]))
                    << "sequence " << s << " (length " << lengths[s] << "), element " << i;
        }
    }
}
