// Counter-based random draws for sampling, on top of kernels/philox.h (Philox4x32-10, shared with the
// CUDA sampler). A draw is a pure function of (seed, stream, step): no state advances, so the same seed
// gives the same tokens whatever the thread count, batch composition or order of evaluation.
//   key = {seed lo, seed hi}; counter = {step lo, step hi, stream lo, stream hi}
// (the kernels/philox.h convention with row = stream lo and lane = stream hi).
//
//   janus::CounterRng rng(seed);
//   double u = rng.uniform(/*stream=*/request_id, /*step=*/t);   // in [0, 1), 53 random bits
#pragma once
#include <cstdint>

#include "kernels/philox.h"

namespace janus {

class CounterRng {
public:
    explicit CounterRng(uint64_t seed = 0) : seed_(seed) {}
    uint64_t seed() const { return seed_; }

    philox::U32x4 bits(uint64_t stream, uint64_t step) const {
        philox::U32x4 c{{uint32_t(step), uint32_t(step >> 32), uint32_t(stream), uint32_t(stream >> 32)}};
        philox::U32x2 k{{uint32_t(seed_), uint32_t(seed_ >> 32)}};
        return philox::philox4x32(c, k);
    }
    // Uniform double in [0, 1) from words 0 and 1 (53 bits).
    double uniform(uint64_t stream, uint64_t step) const {
        auto w = bits(stream, step);
        uint64_t x = (uint64_t(w.v[0]) << 21) | (uint64_t(w.v[1]) >> 11);
        return double(x) * (1.0 / 9007199254740992.0);
    }

private:
    uint64_t seed_;
};

}  // namespace janus
