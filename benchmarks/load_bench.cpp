// Load-mode benchmark (see load_bench.h).
#include "benchmarks/load_bench.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "janus/checkpoint.h"
#include "kernels/io/checkpoint.h"

namespace janus::io {

namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void drop_page_cache(const std::vector<std::string>& files) {
    for (const std::string& f : files) {
        int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ::fdatasync(fd);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

uint64_t sum_bytes(const Checkpoint& ck) {
    uint64_t acc = 0;
    for (const TensorEntry& e : ck.entries()) {
        const uint8_t* p = static_cast<const uint8_t*>(e.tensor.data());
        uint64_t n = e.nbytes, i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            std::memcpy(&w, p + i, 8);
            acc += w;
        }
        for (; i < n; i++) acc += p[i];
    }
    return acc;
}

}  // namespace

std::vector<LoadBenchResult> bench_load_modes(const std::string& path, int64_t random_reads) {
    std::vector<LoadBenchResult> out;
    for (LoadMode mode : {LoadMode::mmap, LoadMode::read}) {
        LoadBenchResult r;
        r.mode = mode;
        {  // find the files first so their pages can be dropped before the timed open
            Checkpoint probe = Checkpoint::open(path, LoadMode::mmap);
            drop_page_cache(probe.files());
        }
        double t0 = now_s();
        Checkpoint ck = Checkpoint::open(path, mode);
        double t1 = now_s();
        r.checksum = sum_bytes(ck);
        double t2 = now_s();
        r.checksum += sum_bytes(ck);
        double t3 = now_s();
        // Random 64-byte reads: pick a tensor weighted by size, then an offset inside it.
        std::vector<const TensorEntry*> big;
        std::vector<uint64_t> cumulative;
        uint64_t total = 0;
        for (const TensorEntry& e : ck.entries())
            if (e.nbytes >= 64) {
                big.push_back(&e);
                total += e.nbytes;
                cumulative.push_back(total);
            }
        r.bytes = 0;
        for (const TensorEntry& e : ck.entries()) r.bytes += e.nbytes;
        std::mt19937_64 rng(1234);
        uint64_t acc = 0;
        double t4 = now_s();
        if (total)
            for (int64_t k = 0; k < random_reads; k++) {
                uint64_t x = rng() % total;
                size_t idx = size_t(std::upper_bound(cumulative.begin(), cumulative.end(), x) - cumulative.begin());
                const TensorEntry* e = big[idx];
                uint64_t off = (x - (cumulative[idx] - e->nbytes)) & ~uint64_t(63);
                if (off + 64 > e->nbytes) off = e->nbytes - 64;
                const uint8_t* p = static_cast<const uint8_t*>(e->tensor.data()) + off;
                for (int j = 0; j < 64; j += 8) {
                    uint64_t w;
                    std::memcpy(&w, p + j, 8);
                    acc += w;
                }
            }
        double t5 = now_s();
        r.checksum += acc;
        r.open_s = t1 - t0;
        r.seq_cold_s = t2 - t1;
        r.seq_warm_s = t3 - t2;
        r.random_s = t5 - t4;
        r.random_reads = total ? random_reads : 0;
        out.push_back(r);
    }
    return out;
}

std::string format_load_bench(const std::vector<LoadBenchResult>& rs, bool json) {
    if (json) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& r : rs)
            j.push_back({{"mode", load_mode_name(r.mode)}, {"bytes", r.bytes}, {"open_s", r.open_s},
                         {"first_pass_s", r.seq_cold_s}, {"second_pass_s", r.seq_warm_s},
                         {"random_reads", r.random_reads}, {"random_s", r.random_s}});
        return j.dump(2) + "\n";
    }
    std::string s = "load-mode benchmark (page cache dropped before each mode; GB = 1e9 bytes)\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-5s %10s %12s %16s %16s %16s %14s\n", "mode", "GB", "open s",
                  "1st pass GB/s", "open+1st GB/s", "2nd pass GB/s", "random ns/read");
    s += line;
    for (const auto& r : rs) {
        const double gb = double(r.bytes) / 1e9;
        std::snprintf(line, sizeof line, "  %-5s %10.3f %12.3f %16.2f %16.2f %16.2f %14.1f\n", load_mode_name(r.mode),
                      gb, r.open_s, gb / r.seq_cold_s, gb / (r.open_s + r.seq_cold_s), gb / r.seq_warm_s,
                      r.random_reads ? r.random_s * 1e9 / double(r.random_reads) : 0.0);
        s += line;
    }
    return s;
}

}  // namespace janus::io

namespace janus {
std::string benchmark_checkpoint_load(const std::string& path, bool json) {
    return io::format_load_bench(io::bench_load_modes(path, 4'000'000), json);
}
}  // namespace janus
