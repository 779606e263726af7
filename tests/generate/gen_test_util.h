// Shared helpers of the text-to-image tests: the tiny Janus checkpoint and its generation goldens
// (tests/data/golden/tiny-janus-gen/, made by scripts/reference/make_generation_fixtures.py), .npy
// access through the public janus::read_npy, the max-relative error metric of
// docs/reference-implementation.md and scratch directories.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/common/tolerance.h"
#include "janus/generate.h"
#include "janus/vision.h"

namespace gen_test {

inline const std::string kData = JANUS_TEST_DATA;
inline std::string model_dir() { return kData + "/models/tiny-janus"; }
inline std::string golden(const std::string& variant, const std::string& file) {
    return kData + "/golden/tiny-janus-gen/" + variant + "/" + file;
}
inline nlohmann::json manifest(const std::string& variant) {
    std::ifstream f(golden(variant, "manifest.json"));
    return nlohmann::json::parse(f);
}

// max|got − want| / max|want| (tests/common/tolerance.h; +inf on a size mismatch).
using janus::testing::max_rel_error;
inline double max_rel(const std::vector<float>& got, const std::vector<float>& want) { return max_rel_error(got, want); }

// A fresh scratch directory under the system temp dir, removed by the destructor.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& tag) {
        path = std::filesystem::temp_directory_path() /
               ("janus-gen-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string str() const { return path.string(); }
    std::string operator/(const std::string& f) const { return (path / f).string(); }
    static int& counter() {
        static int c = 0;
        return c;
    }
};

inline std::unique_ptr<janus::ImageGenerator> open_tiny(const std::string& dtype, int threads = 0,
                                                        const std::string& model = "") {
    janus::ImageGenOptions o;
    o.model = model.empty() ? model_dir() : model;
    o.device = "cpu";
    o.dtype = dtype;
    o.threads = threads;
    o.max_prompt_tokens = 128;
    return janus::ImageGenerator::open(o);
}

inline std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), {});
}

}  // namespace gen_test
