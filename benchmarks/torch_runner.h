// The one PyTorch runner of the benchmarks: runs a peer script of scripts/reference/ (Debian's
// /usr/bin/python3 with python3-torch) in a child process with the same thread count and returns the
// JSON object it prints as its last JSON line. Used by `janus bench generate` and `janus bench vision`.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace janus::bench {

struct TorchRunOptions {
    std::string python = "/usr/bin/python3";
    std::string script;               // file name under scripts/reference/ of the source tree
    std::vector<std::string> args;    // passed after the script, each shell-quoted
    int threads = 0;                  // > 0: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS for the child
    bool preload_openblas = false;    // LD_PRELOAD Debian's OpenBLAS when installed (see bench vision)
};

struct TorchRun {
    bool ok = false;
    nlohmann::json result;            // the script's JSON object (ok)
    std::string note;                 // why it failed, with the command (not ok)
    std::string blas;                 // "OpenBLAS (preloaded)" or "system libblas"
};

TorchRun run_torch_script(const TorchRunOptions& options);

std::string shell_quote(const std::string& s);

}  // namespace janus::bench
