// Roofline probes for `janus bench ops` (kernels/cpu/bench_ops.cpp): a streaming read over a buffer
// and register-only FMA / bf16-dot loops, each run by one thread; the caller runs them on every
// pool thread. Return the work done (bytes read or FLOPs) so the caller can time the whole batch.
#pragma once
#include <cstddef>
#include <cstdint>

namespace janus::cpu {

// Sums `bytes` (multiple of 64, 64-byte aligned) of memory; the result only defeats dead-code removal.
float stream_read(const void* data, size_t bytes);
// Runs `iters` iterations of 24 independent zmm (or ymm) FMAs; returns FLOPs done.
double fma_peak_loop(int64_t iters);
// Same with vdpbf16ps; returns 0 when the CPU has no AVX-512-BF16.
double bf16_peak_loop(int64_t iters);

}  // namespace janus::cpu
