// ModelBundle: checkpoint directory → config, family, LM config/names, weights, tokenizer
// (see pipelines/model_bundle.h).
#include "pipelines/model_bundle.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "janus/error.h"

namespace janus {

namespace fs = std::filesystem;

const char* model_family_name(ModelFamily f) {
    switch (f) {
        case ModelFamily::llama: return "llama";
        case ModelFamily::qwen2: return "qwen2";
        case ModelFamily::janus: return "janus";
        case ModelFamily::janus_hf: return "janus-hf";
    }
    return "?";
}

const nlohmann::json& ModelBundle::sub_config(const std::string& key) const {
    auto it = config.find(key);
    if (it == config.end() || !it->is_object())
        throw Error(dir + "/config.json: no '" + key + "' object (is this the right kind of checkpoint?)");
    return *it;
}

TensorLookup ModelBundle::lookup() const {
    auto ck = checkpoint;
    return [ck](const std::string& name) -> Tensor {
        if (!ck) return {};
        const io::TensorEntry* e = ck->find(name);
        return e ? e->tensor : Tensor();
    };
}

Tensor ModelBundle::tensor(const std::string& name) const {
    if (!checkpoint) throw Error(dir + ": no weights opened");
    return checkpoint->tensor(name);
}

static std::string supported_list() {
    std::string s;
    for (auto& a : LmConfig::supported_architectures()) s += (s.empty() ? "" : ", ") + a;
    return s;
}

void detect_family(const nlohmann::json& config, const std::string& source, ModelFamily* family,
                   std::string* architecture, LmConfig* lm, LmTensorNames* names) {
    if (!config.is_object()) throw Error(source + ": expected a JSON object");
    std::string model_type = config.value("model_type", std::string());
    std::string arch;
    if (config.contains("architectures") && config["architectures"].is_array() && !config["architectures"].empty() &&
        config["architectures"][0].is_string())
        arch = config["architectures"][0].get<std::string>();
    *architecture = arch.empty() ? model_type : arch;

    if (arch == "MultiModalityCausalLM" || model_type == "multi_modality") {
        *family = ModelFamily::janus;
        if (!config.contains("language_config"))
            throw Error(source + ": multi_modality config without 'language_config'");
        *lm = LmConfig::from_json(config["language_config"], "LlamaForCausalLM", source + " [language_config]");
        names->body = "language_model.model.";
        names->lm_head = "language_model.lm_head.weight";
        return;
    }
    if (arch == "JanusForConditionalGeneration" || model_type == "janus") {
        *family = ModelFamily::janus_hf;
        if (!config.contains("text_config")) throw Error(source + ": janus config without 'text_config'");
        *lm = LmConfig::from_json(config["text_config"], "LlamaForCausalLM", source + " [text_config]");
        names->body = "model.language_model.";
        names->lm_head = "lm_head.weight";
        return;
    }
    if (arch == "LlamaForCausalLM" || (arch.empty() && model_type == "llama")) {
        *family = ModelFamily::llama;
        *lm = LmConfig::from_json(config, "LlamaForCausalLM", source);
    } else if (arch == "Qwen2ForCausalLM" || (arch.empty() && model_type == "qwen2")) {
        *family = ModelFamily::qwen2;
        *lm = LmConfig::from_json(config, "Qwen2ForCausalLM", source);
    } else {
        throw Error(source + ": unsupported architecture '" + *architecture + "' (supported: " + supported_list() +
                    ")");
    }
    names->body = "model.";
    names->lm_head = "lm_head.weight";
}

ModelBundle open_model_bundle(const std::string& dir, const BundleOptions& options) {
    ModelBundle b;
    b.dir = dir;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw Error(dir + ": not a directory — pass the model directory (holding config.json, the weights and "
                          "tokenizer.json)");
    const std::string cfg_path = (fs::path(dir) / "config.json").string();
    std::ifstream f(cfg_path);
    if (!f) throw Error(cfg_path + ": cannot open (every model directory needs its config.json)");
    std::stringstream ss;
    ss << f.rdbuf();
    try {
        b.config = nlohmann::json::parse(ss.str());
    } catch (const std::exception& e) {
        throw Error(cfg_path + ": invalid JSON: " + e.what());
    }
    detect_family(b.config, cfg_path, &b.family, &b.architecture, &b.lm, &b.lm_names);

    b.checkpoint = std::make_shared<io::Checkpoint>(io::Checkpoint::open(dir));
    // Some re-saves use the other Janus naming (facts §2.4): follow the embedding table.
    if (!b.checkpoint->contains(b.lm_names.body + "embed_tokens.weight")) {
        const std::pair<const char*, const char*> alts[] = {
            {"language_model.model.", "language_model.lm_head.weight"},
            {"model.language_model.", "lm_head.weight"},
            {"model.", "lm_head.weight"}};
        for (auto& [body, head] : alts) {
            if (b.checkpoint->contains(std::string(body) + "embed_tokens.weight")) {
                b.lm_names.body = body;
                b.lm_names.lm_head = head;
                break;
            }
        }
    }
    if (options.load_tokenizer) {
        if (fs::exists(fs::path(dir) / "tokenizer.json")) {
            b.tokenizer = std::make_shared<Tokenizer>(Tokenizer::load(dir));
        } else if (options.require_tokenizer) {
            throw Error(dir + ": no tokenizer.json — copy it from the model's original download");
        }
    }
    return b;
}

std::unique_ptr<LlamaModel> build_language_model(const ModelBundle& bundle, Backend& backend,
                                                 const LmRunOptions& options) {
    LmWeights w = load_lm_weights(bundle.lm, bundle.lookup(), bundle.lm_names, backend, bundle.dir);
    return std::make_unique<LlamaModel>(backend, bundle.lm, std::move(w), options);
}

}  // namespace janus
