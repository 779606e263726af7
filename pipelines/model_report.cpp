// `janus info` report: inspection, text and JSON rendering (see model_report.h) and the public
// janus::describe_checkpoint (include/janus/checkpoint.h).
#include "pipelines/model_report.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include "pipelines/generate_internal.h"
#include "text/lm_config.h"
#include "vision/vision_config.h"

namespace janus::info {

using namespace janus::io;
using namespace janus::models;

namespace {

const char* part_description(const std::string& part, Architecture arch) {
    static const std::pair<const char*, const char*> d[] = {
        {"lm", "language model (Llama decoder)"},
        {"siglip", "SigLIP understanding encoder"},
        {"siglip.attn_pool", "SigLIP attention-pool head (unused)"},
        {"aligner", "understanding aligner (MLP)"},
        {"vq.encoder", "VQ-16 encoder (unused by generation)"},
        {"vq.decoder", "VQ-16 decoder"},
        {"vq.quantize", "VQ-16 codebook + quant convs"},
        {"gen_embed", "image-code embedding"},
        {"gen_aligner", "generation aligner (MLP)"},
        {"gen_head", "generation head"},
        {"other", "not part of the architecture"},
    };
    if (part == "lm" && arch == Architecture::qwen2) return "language model (Qwen2 decoder)";
    for (auto& [p, s] : d)
        if (part == p) return s;
    return "";
}

std::string human_bytes(uint64_t b) {
    char buf[64];
    if (b >= (uint64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1ull << 30));
    else if (b >= (uint64_t(1) << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1ull << 20));
    else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
    else std::snprintf(buf, sizeof buf, "%" PRIu64 " B", b);
    return buf;
}

std::string grouped(int64_t v) {
    std::string s = std::to_string(v < 0 ? -v : v), out;
    for (size_t i = 0; i < s.size(); i++) {
        if (i && (s.size() - i) % 3 == 0) out += ',';
        out += s[i];
    }
    return v < 0 ? "-" + out : out;
}

std::string shape_str(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); i++) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

int part_order(const std::string& p) {
    static const char* order[] = {"lm", "siglip", "siglip.attn_pool", "aligner", "gen_embed", "gen_aligner",
                                  "gen_head", "vq.decoder", "vq.quantize", "vq.encoder", "other"};
    for (int i = 0; i < int(std::size(order)); i++)
        if (p == order[i]) return i;
    return 100;
}

}  // namespace

ModelReport inspect_model(const std::string& path, const InfoOptions& opt) {
    ModelReport r;
    r.source = path;
    Checkpoint ck = Checkpoint::open(path, LoadMode::mmap);  // headers only; data pages never touched
    r.format = checkpoint_format_name(ck.format());
    for (const std::string& f : ck.files()) {
        std::error_code ec;
        r.files.push_back({f, uint64_t(std::filesystem::file_size(f, ec))});
    }
    std::filesystem::path cfg = std::filesystem::path(ck.root()) / "config.json";
    if (std::filesystem::exists(cfg)) r.config = ModelConfig::load(ck.root());
    else r.config_note = "no config.json next to the weights — architecture unknown, cannot check tensor names";

    std::vector<std::string> names;
    for (const TensorEntry& e : ck.entries()) names.push_back(e.name);
    std::unordered_map<std::string, const ExpectedTensor*> expected;
    std::vector<ExpectedTensor> exp_list;
    Architecture arch = Architecture::llama;
    if (r.config) {
        arch = r.config->architecture;
        r.scheme = detect_name_scheme(*r.config, names);
        exp_list = expected_tensors(*r.config, r.scheme);
        for (const ExpectedTensor& e : exp_list) expected[e.name] = &e;
    }

    std::map<std::string, PartSummary> parts;
    std::map<std::string, int64_t> float_dtypes;
    for (const TensorEntry& e : ck.entries()) {
        const int64_t n = e.shape.numel();
        std::string part = "other";
        bool used = true;
        auto it = expected.find(e.name);
        if (it != expected.end()) {
            part = it->second->part;
            used = it->second->used;
            if (Shape(it->second->shape) != e.shape)
                r.mismatched.push_back({e.name, it->second->shape, e.shape.vec()});
        } else if (r.config) {
            part = tensor_part(e.name, arch);
            r.unexpected.push_back(e.name);
        } else {
            part = "all";
        }
        PartSummary& p = parts[part];
        p.part = part;
        p.tensors++;
        p.params += n;
        p.bytes += e.nbytes;
        p.dtype_params[dtype_name(e.dtype)] += n;
        if (!used && part != "other") p.used = false;
        r.dtypes[dtype_name(e.dtype)].first += n;
        r.dtypes[dtype_name(e.dtype)].second += e.nbytes;
        if (dtype_is_float(e.dtype)) float_dtypes[dtype_name(e.dtype)] += n;
        r.tensors++;
        r.params += n;
        r.bytes += e.nbytes;
        r.memory.weights_all += e.nbytes;
        if (used && !(r.config && it == expected.end())) r.memory.weights_used += e.nbytes;
    }
    for (auto& [k, p] : parts) {
        p.description = r.config ? part_description(k, arch) : "all tensors";
        r.parts.push_back(p);
    }
    std::sort(r.parts.begin(), r.parts.end(),
              [](const PartSummary& a, const PartSummary& b) { return part_order(a.part) < part_order(b.part); });
    for (const ExpectedTensor& e : exp_list)
        if (!ck.contains(e.name)) (e.optional ? r.missing_optional : r.missing).push_back(e);

    // Memory: KV in the weights' main float dtype (bf16/f16 -> 2 bytes, f32 -> 4).
    std::string main_float = "bf16";
    int64_t best = -1;
    for (auto& [d, n] : float_dtypes)
        if (n > best) best = n, main_float = d;
    MemoryPlan& m = r.memory;
    m.kv_elem_bytes = main_float == "f32" ? 4 : main_float == "f64" ? 8 : 2;
    if (r.config) {
        const LanguageConfig& l = r.config->language;
        m.kv_bytes_per_token = l.kv_bytes_per_token(m.kv_elem_bytes);
        m.chat_context = opt.context > 0 ? opt.context : std::min<int64_t>(l.max_position_embeddings, 4096);
        m.chat_kv = uint64_t(m.kv_bytes_per_token) * uint64_t(m.chat_context);
        m.chat_total = m.weights_used + m.chat_kv;
        if (r.config->janus) {
            // The same plan `janus generate --dry-run` makes: 2 rows (cond/uncond) per image, KV for
            // prompt + image tokens, the LM step workspace, VQ decode of one image at a time. Configs
            // the runtime cannot run (the conversions below throw) get no generation estimate.
            try {
                PlanInputs in;
                in.model = r.source;
                in.lm = LmConfig::from_language_config(l, r.source);
                in.vq = vision::vq_config(*r.config->janus, r.source);
                in.weight_bytes = int64_t(m.weights_used);
                in.kv_dtype_bytes = m.kv_elem_bytes;
                in.codebook = r.config->janus->gen_head.image_token_size;
                in.images = std::max(1, opt.parallel);
                in.prompt_tokens = 64;
                in.image_tokens = int64_t(in.vq.grid()) * in.vq.grid();
                in.limit_bytes = INT64_MAX / 4;  // what the request needs, not what this machine allows
                const janus::MemoryPlan p = make_memory_plan(in);
                m.gen_parallel = in.images;
                m.gen_rows = 2 * in.images;
                m.gen_tokens = p.kv_tokens_per_row;
                m.gen_kv = uint64_t(p.kv_bytes);
                m.gen_workspace = uint64_t(p.activation_bytes);
                m.vq_decode = uint64_t(p.vq_bytes);
                m.gen_total = uint64_t(p.total_bytes);
            } catch (const Error&) {
            }
        }
    }
    for (const TensorEntry& e : ck.entries())
        if (dtype_is_float(e.dtype) && dtype_name(e.dtype) != main_float) r.dtype_inconsistent.push_back(e.name);
    return r;
}

std::string report_text(const ModelReport& r, const InfoOptions& opt) {
    std::string s;
    char line[512];
    auto add = [&](const std::string& x) { s += x + "\n"; };
    uint64_t file_total = 0;
    for (auto& f : r.files) file_total += f.second;
    add("model:        " + r.source);
    add("format:       " + r.format + ", " + std::to_string(r.files.size()) + " file" +
        (r.files.size() == 1 ? "" : "s") + ", " + human_bytes(file_total));
    for (auto& [f, b] : r.files) add("  " + std::filesystem::path(f).filename().string() + "  " + grouped(int64_t(b)) + " bytes");
    if (r.config) {
        const ModelConfig& c = *r.config;
        const LanguageConfig& l = c.language;
        std::string arch = c.architecture_string;
        if (c.janus) arch += c.janus->transformers_format ? " (Janus, transformers format)" : " (Janus)";
        add("architecture: " + arch + (r.scheme == NameScheme::transformers ? ", transformers tensor names" : ""));
        std::snprintf(line, sizeof line,
                      "language model: %" PRId64 " layers, hidden %" PRId64 ", heads %" PRId64 " (kv %" PRId64
                      ", head_dim %" PRId64 "), ffn %" PRId64 ", vocab %" PRId64 ", max positions %" PRId64
                      ", rope_theta %g%s, rms eps %g, %s embeddings",
                      l.num_hidden_layers, l.hidden_size, l.num_attention_heads, l.num_key_value_heads, l.head_dim,
                      l.intermediate_size, l.vocab_size, l.max_position_embeddings, l.rope_theta,
                      l.rope_scaling.type.empty() ? "" : (" (" + l.rope_scaling.type + " scaling)").c_str(),
                      l.rms_norm_eps, l.tie_word_embeddings ? "tied" : "untied");
        add(line);
        if (c.janus) {
            const JanusConfig& j = *c.janus;
            std::snprintf(line, sizeof line,
                          "sub-models:   SigLIP %s (%" PRId64 " blocks, width %" PRId64 ", %" PRId64
                          " patches), aligner %" PRId64 "->%" PRId64 ", VQ-16 (%" PRId64 " codes x %" PRId64
                          "), gen_aligner %" PRId64 "->%" PRId64 ", gen_head %" PRId64 "->%" PRId64,
                          j.vision.model_name.c_str(), j.vision.depth, j.vision.width, j.vision.num_patches(),
                          j.aligner.input_dim, j.aligner.n_embed, j.gen_vision.image_token_size, j.gen_vision.n_embed,
                          j.gen_aligner.input_dim, j.gen_aligner.n_embed, j.gen_head.n_embed,
                          j.gen_head.image_token_size);
            add(line);
        }
        if (!l.torch_dtype.empty()) add("config dtype: " + l.torch_dtype);
    } else {
        add("architecture: unknown (" + r.config_note + ")");
    }
    std::string dts;
    for (auto& [d, pb] : r.dtypes) dts += (dts.empty() ? "" : ", ") + d + " " + grouped(pb.first) + " params";
    add("dtypes:       " + dts);
    add("");
    std::snprintf(line, sizeof line, "  %-52s %8s %15s %12s  %s", "part", "tensors", "params", "bytes", "dtypes");
    add(line);
    for (const PartSummary& p : r.parts) {
        std::string d;
        for (auto& [k, v] : p.dtype_params) d += (d.empty() ? "" : ",") + k;
        std::string label = p.part + (p.description.empty() ? "" : "  " + p.description);
        std::snprintf(line, sizeof line, "  %-52s %8" PRId64 " %15s %12s  %s", label.c_str(), p.tensors,
                      grouped(p.params).c_str(), human_bytes(p.bytes).c_str(), d.c_str());
        add(line);
    }
    std::snprintf(line, sizeof line, "  %-52s %8" PRId64 " %15s %12s", "total", r.tensors, grouped(r.params).c_str(),
                  human_bytes(r.bytes).c_str());
    add(line);
    add("");

    auto list = [&](const std::string& title, const std::vector<std::string>& items) {
        if (items.empty()) return;
        add(title + " (" + std::to_string(items.size()) + "):");
        size_t limit = opt.max_list > 0 ? size_t(opt.max_list) : items.size();
        for (size_t i = 0; i < items.size() && i < limit; i++) add("  " + items[i]);
        if (items.size() > limit) add("  ... and " + std::to_string(items.size() - limit) + " more (--all lists them)");
    };
    if (r.config) {
        if (r.missing.empty() && r.unexpected.empty() && r.mismatched.empty())
            add("tensors:      all " + std::to_string(r.tensors - int64_t(r.unexpected.size())) +
                " expected tensors present with the expected shapes, none unexpected");
        std::vector<std::string> v;
        for (auto& e : r.missing) v.push_back(e.name + " " + shape_str(e.shape));
        list("MISSING tensors", v);
        v.clear();
        for (auto& e : r.mismatched) v.push_back(e.name + ": file " + shape_str(e.actual) + ", expected " + shape_str(e.expected));
        list("SHAPE MISMATCH", v);
        list("unexpected tensors (ignored)", r.unexpected);
        v.clear();
        for (auto& e : r.missing_optional) v.push_back(e.name);
        if (!v.empty())
            add("optional tensors absent: " + std::to_string(v.size()) + " (unused by inference or tied; fine)");
    }
    if (!r.dtype_inconsistent.empty()) list("tensors in a different float dtype", r.dtype_inconsistent);

    const MemoryPlan& m = r.memory;
    add("");
    add("memory:");
    add("  weights read by inference      " + human_bytes(m.weights_used) + " (all tensors: " + human_bytes(m.weights_all) + ")");
    if (r.config) {
        add("  KV cache per token             " + human_bytes(uint64_t(m.kv_bytes_per_token)) + " (" +
            std::to_string(m.kv_elem_bytes * 8) + "-bit K and V, all layers)");
        add("  chat, " + std::to_string(m.chat_context) + "-token context        weights + KV " +
            human_bytes(m.chat_kv) + " = " + human_bytes(m.chat_total));
        if (m.gen_rows)
            add("  generate, " + std::to_string(m.gen_parallel) + " images (" + std::to_string(m.gen_rows) + " rows x " +
                std::to_string(m.gen_tokens) + " tokens)  weights + KV " + human_bytes(m.gen_kv) + " + LM workspace " +
                human_bytes(m.gen_workspace) + " + VQ decode " + human_bytes(m.vq_decode) + " = " +
                human_bytes(m.gen_total));
    }
    add("  (plus activations. Loading reads whole files into memory (" + human_bytes(file_total) +
        ") when they fit in 75% of available RAM, else maps them; JANUS_LOAD_MODE=mmap|read forces one)");
    return s;
}

nlohmann::json report_json(const ModelReport& r) {
    using nlohmann::json;
    json j;
    j["source"] = r.source;
    j["format"] = r.format;
    j["files"] = json::array();
    for (auto& [f, b] : r.files) j["files"].push_back({{"path", f}, {"bytes", b}});
    if (r.config) {
        const ModelConfig& c = *r.config;
        const LanguageConfig& l = c.language;
        j["architecture"] = c.architecture_string;
        j["family"] = architecture_name(c.architecture);
        j["tensor_names"] = r.scheme == NameScheme::official ? "official" : "transformers";
        j["language_model"] = {{"layers", l.num_hidden_layers}, {"hidden_size", l.hidden_size},
                               {"intermediate_size", l.intermediate_size}, {"heads", l.num_attention_heads},
                               {"kv_heads", l.num_key_value_heads}, {"head_dim", l.head_dim},
                               {"vocab_size", l.vocab_size}, {"max_position_embeddings", l.max_position_embeddings},
                               {"rope_theta", l.rope_theta}, {"rope_scaling", l.rope_scaling.type},
                               {"rms_norm_eps", l.rms_norm_eps}, {"tie_word_embeddings", l.tie_word_embeddings},
                               {"torch_dtype", l.torch_dtype}};
        if (c.janus) {
            const JanusConfig& jc = *c.janus;
            j["sub_models"] = {
                {"vision", {{"model_name", jc.vision.model_name}, {"depth", jc.vision.depth}, {"width", jc.vision.width},
                            {"image_size", jc.vision.image_size}, {"patches", jc.vision.num_patches()}}},
                {"aligner", {{"input_dim", jc.aligner.input_dim}, {"n_embed", jc.aligner.n_embed}, {"depth", jc.aligner.depth}}},
                {"gen_vision", {{"image_token_size", jc.gen_vision.image_token_size}, {"n_embed", jc.gen_vision.n_embed}}},
                {"gen_aligner", {{"input_dim", jc.gen_aligner.input_dim}, {"n_embed", jc.gen_aligner.n_embed}}},
                {"gen_head", {{"n_embed", jc.gen_head.n_embed}, {"image_token_embed", jc.gen_head.image_token_embed},
                              {"image_token_size", jc.gen_head.image_token_size}}}};
        }
    } else {
        j["architecture"] = nullptr;
        j["note"] = r.config_note;
    }
    j["dtypes"] = json::object();
    for (auto& [d, pb] : r.dtypes) j["dtypes"][d] = {{"params", pb.first}, {"bytes", pb.second}};
    j["parts"] = json::array();
    for (const PartSummary& p : r.parts)
        j["parts"].push_back({{"part", p.part}, {"description", p.description}, {"tensors", p.tensors},
                              {"params", p.params}, {"bytes", p.bytes}, {"dtypes", p.dtype_params}, {"used", p.used}});
    j["total"] = {{"tensors", r.tensors}, {"params", r.params}, {"bytes", r.bytes}};
    j["missing"] = json::array();
    for (auto& e : r.missing) j["missing"].push_back({{"name", e.name}, {"shape", e.shape}, {"part", e.part}});
    j["missing_optional"] = json::array();
    for (auto& e : r.missing_optional) j["missing_optional"].push_back(e.name);
    j["unexpected"] = r.unexpected;
    j["shape_mismatch"] = json::array();
    for (auto& e : r.mismatched) j["shape_mismatch"].push_back({{"name", e.name}, {"expected", e.expected}, {"actual", e.actual}});
    const MemoryPlan& m = r.memory;
    j["memory"] = {{"weights_all_bytes", m.weights_all}, {"weights_used_bytes", m.weights_used}};
    if (r.config) {
        j["memory"]["kv_bytes_per_token"] = m.kv_bytes_per_token;
        j["memory"]["chat"] = {{"context", m.chat_context}, {"kv_bytes", m.chat_kv}, {"total_bytes", m.chat_total}};
        if (m.gen_rows)
            j["memory"]["generate"] = {{"images", m.gen_parallel}, {"rows", m.gen_rows}, {"tokens", m.gen_tokens},
                                       {"kv_bytes", m.gen_kv}, {"workspace_bytes", m.gen_workspace},
                                       {"vq_decode_bytes", m.vq_decode},
                                       {"total_bytes", m.gen_total}};
    }
    return j;
}

}  // namespace janus::info

namespace janus {

std::string describe_checkpoint(const std::string& path, const InfoOptions& options) {
    info::ModelReport r = info::inspect_model(path, options);
    return options.json ? info::report_json(r).dump(2) + "\n" : info::report_text(r, options);
}

}  // namespace janus
