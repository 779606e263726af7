// PyTorch peer runner (see torch_runner.h): popen of "env python script args 2>&1", the last line
// that parses as a JSON object is the result; anything else is a failure note with the output's tail.
#include "benchmarks/torch_runner.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <sstream>

namespace janus::bench {

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

TorchRun run_torch_script(const TorchRunOptions& o) {
    TorchRun r;
    std::string env;
    if (o.threads > 0)
        env += "OMP_NUM_THREADS=" + std::to_string(o.threads) + " OPENBLAS_NUM_THREADS=" + std::to_string(o.threads) + " ";
    const std::string openblas = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3";
    r.blas = "system libblas";
    if (o.preload_openblas && ::access(openblas.c_str(), R_OK) == 0) {
        env += "LD_PRELOAD=" + shell_quote(openblas) + " ";
        r.blas = "OpenBLAS (preloaded)";
    }
    std::string cmd = env + shell_quote(o.python) + " " +
                      shell_quote(std::string(JANUS_SOURCE_DIR) + "/scripts/reference/" + o.script);
    for (const std::string& a : o.args) cmd += " " + shell_quote(a);
    cmd += " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) {
        r.note = "could not start " + o.python;
        return r;
    }
    std::string text;
    std::array<char, 4096> buf{};
    while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
    const int rc = ::pclose(p);
    std::istringstream lines(text);
    for (std::string l; std::getline(lines, l);) {
        if (l.empty() || l[0] != '{') continue;
        try {
            r.result = nlohmann::json::parse(l);
            r.ok = r.result.is_object();
        } catch (const std::exception&) {
        }
    }
    if (rc != 0 || !r.ok) {
        r.ok = false;
        r.note = "the PyTorch run failed (exit status " + std::to_string(rc) + "): " + cmd + " — " +
                 text.substr(text.size() > 300 ? text.size() - 300 : 0);
    }
    return r;
}

}  // namespace janus::bench
