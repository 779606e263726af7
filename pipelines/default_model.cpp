// Finds the default model directory (janus-shapes) for the CLI when -m is not given: $JANUS_MODEL,
// then paths relative to the running executable (build tree, install prefix), then the source tree.
// Only filesystem paths; no tensors.
#include "janus/default_model.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "janus/error.h"

namespace fs = std::filesystem;

namespace janus {
namespace {

constexpr const char* kName = "janus-shapes";

bool has_config(const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / "config.json", ec);
}

fs::path executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);  // Linux; elsewhere the other candidates remain
    if (ec || exe.empty()) return {};
    return exe.parent_path();
}

std::vector<fs::path> candidates() {
    std::vector<fs::path> c;
    fs::path exe = executable_dir();
    if (!exe.empty()) {
        c.push_back(exe / ".." / ".." / "samples" / "models" / kName);  // build/bin/janus, build/tests/...
        c.push_back(exe / ".." / "samples" / "models" / kName);         // build/janus
        c.push_back(exe / ".." / "share" / "janus" / "models" / kName);  // <prefix>/bin/janus
    }
#ifdef JANUS_SOURCE_DIR
    c.push_back(fs::path(JANUS_SOURCE_DIR) / "samples" / "models" / kName);
#endif
    return c;
}

}  // namespace

std::string default_model_dir() {
    if (const char* env = std::getenv("JANUS_MODEL"); env && *env) {
        if (!has_config(env))
            throw Error(std::string("JANUS_MODEL=") + env +
                        ": not a model directory (no config.json); unset it or point it at a checkpoint directory");
        return env;
    }
    std::string tried;
    for (const fs::path& p : candidates()) {
        if (has_config(p)) {
            std::error_code ec;
            fs::path c = fs::weakly_canonical(p, ec);
            return (ec ? p.lexically_normal() : c).string();
        }
        tried += "\n  " + p.lexically_normal().string();
    }
    throw Error("no model given and the default model (janus-shapes) was not found; tried:" + tried +
                "\npass a checkpoint directory with -m DIR (or set JANUS_MODEL=DIR); see docs/models.md");
}

std::string resolve_model_dir(const std::string& given) { return given.empty() ? default_model_dir() : given; }

bool is_default_model(const std::string& dir) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::path(dir), ec);
    if (ec) p = fs::path(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename() == kName;
}

std::string default_model_notice() {
    return "janus: note: using the default model janus-shapes, a tiny model trained only on pictures of simple "
           "shapes (circle, square, triangle, star, cross in six colours); it cannot chat or answer general "
           "questions. For real use download Janus-Pro or a Llama/Qwen2 chat model and pass -m DIR "
           "(docs/models.md says where, which files and which flags).";
}

}  // namespace janus
