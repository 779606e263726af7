// Load-mode benchmark behind `janus info --bench-load`: for LoadMode::mmap and LoadMode::read it
// drops the checkpoint's pages from the page cache (posix_fadvise DONTNEED; no root needed for clean
// pages), then times (1) Checkpoint::open, (2) a first sequential pass summing every tensor's bytes
// (cold: page faults / disk for mmap, already in RAM for read), (3) a second sequential pass (warm),
// (4) random 64-byte reads spread over all tensor bytes (TLB behaviour: 4 KiB file pages vs the
// anonymous, huge-page-advised buffer of read mode). Reports GB/s and ns per random read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/io/mapped_file.h"

namespace janus::io {

struct LoadBenchResult {
    LoadMode mode = LoadMode::mmap;
    uint64_t bytes = 0;
    double open_s = 0, seq_cold_s = 0, seq_warm_s = 0, random_s = 0;
    int64_t random_reads = 0;
    uint64_t checksum = 0;
};

std::vector<LoadBenchResult> bench_load_modes(const std::string& path, int64_t random_reads);
std::string format_load_bench(const std::vector<LoadBenchResult>& results, bool json);

}  // namespace janus::io
