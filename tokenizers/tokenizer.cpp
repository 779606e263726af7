// janus::Tokenizer (include/janus/tokenizer.h): loads tokenizer.json (+ tokenizer_config.json,
// special_tokens_map.json, config.json from a model directory), runs the encode pipeline
//   added tokens (raw) → normalizer → added tokens (normalized) → pre-tokenizer → BPE → post-processor
// and the decode pipeline ids → token strings → decoder → UTF-8, like the Hugging Face libraries.
// Ids are int32; no tensors here.
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "janus/tokenizer.h"
#include "tokenizers/json_load.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace janus {
namespace tok_detail {

std::optional<int32_t> TokenizerImpl::find(std::string_view token) const {
    auto a = added_by_content.find(token);
    if (a != added_by_content.end()) return a->second;
    int32_t id = model->find(token);
    if (id >= 0) return id;
    return std::nullopt;
}

namespace {

bool is_dir(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
std::string read_gzip(const std::string& path) {
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) throw Error(path + ": cannot open gzip file; check the path and permissions");
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    int err = 0;
    const char* msg = gzerror(gz, &err);
    std::string m = msg ? msg : "";
    gzclose(gz);
    if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) throw Error(path + ": corrupt gzip data (" + m + ")");
    return out;
}
std::string read_file(const std::string& path) {
    if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) return read_gzip(path);
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(path + ": cannot open file; check the path and permissions");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}
json parse_tokenizer(std::string_view text, const std::string& source, RawModel& raw) {
    try {
        return parse_tokenizer_json(text, source, raw);
    } catch (const json::exception& e) {
        throw Error(source + ": malformed JSON (" + e.what() + "); re-download the file");
    }
}
json parse_json(std::string_view text, const std::string& source) {
    try {
        return json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        throw Error(source + ": malformed JSON (" + e.what() + "); re-download the file");
    }
}

// A special-token entry in tokenizer_config.json / special_tokens_map.json: a string or
// {"content": "..."}; null or absent → "".
std::string token_string(const json& cfg, const char* key) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return "";
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return "";
}

struct VocabLookup : TokenLookup {
    const TokenizerImpl& t;
    explicit VocabLookup(const TokenizerImpl& x) : t(x) {}
    int32_t id_of(const std::string& token, const std::string& where) const override {
        auto id = t.find(token);
        if (!id) json_fail(where, "special token \"" + token + "\" is not in the vocabulary");
        return *id;
    }
};

}  // namespace

// Builds the impl from parsed JSON. `cfg` / `stm` / `model_cfg` may be null objects.
std::shared_ptr<TokenizerImpl> build(const json& tj, RawModel&& raw, const json& cfg, const json& stm,
                                     const json& model_cfg, const std::string& src) {
    auto t = std::make_shared<TokenizerImpl>();
    t->source = src;
    const std::string W = src;  // JSON paths are reported as "<file>: a.b[3].c"
    if (!tj.is_object()) json_fail(W, "expected a JSON object at the top level");
    if (!tj.contains("model")) json_fail(W + ": model", "required field is missing");
    t->model = std::make_unique<BpeModel>(tj["model"], W + ": model", std::move(raw));
    if (tj.contains("normalizer") && !tj["normalizer"].is_null())
        t->normalizer = make_normalizer(tj["normalizer"], W + ": normalizer");
    if (tj.contains("pre_tokenizer") && !tj["pre_tokenizer"].is_null()) {
        t->pre_tokenizer = make_pre_tokenizer(tj["pre_tokenizer"], W + ": pre_tokenizer");
        t->byte_level = t->pre_tokenizer->byte_level();
    }
    if (tj.contains("decoder") && !tj["decoder"].is_null()) t->decoder = make_decoder(tj["decoder"], W + ": decoder");
    if (tj.contains("truncation") && !tj["truncation"].is_null())
        json_fail(W + ": truncation", "truncation settings are not supported; set it to null");

    // Added tokens.
    if (tj.contains("added_tokens") && !tj["added_tokens"].is_null()) {
        const json& arr = tj["added_tokens"];
        if (!arr.is_array()) json_fail(W + ": added_tokens", "expected an array");
        for (size_t i = 0; i < arr.size(); ++i) {
            std::string w = W + ": added_tokens[" + std::to_string(i) + "]";
            const json& a = arr[i];
            AddedToken tok;
            const json& id = jget(a, "id", w);
            if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
                json_fail(w + ".id", "expected a non-negative integer");
            tok.id = id.get<int32_t>();
            const json& content = jget(a, "content", w);
            if (!content.is_string() || content.get<std::string>().empty())
                json_fail(w + ".content", "expected a non-empty string");
            tok.content = content.get<std::string>();
            tok.special = jbool(a, "special", w, false);
            tok.lstrip = jbool(a, "lstrip", w, false);
            tok.rstrip = jbool(a, "rstrip", w, false);
            tok.single_word = jbool(a, "single_word", w, false);
            tok.normalized = jbool(a, "normalized", w, !tok.special);
            t->added.push_back(std::move(tok));
        }
    }

    // Special tokens named by tokenizer_config.json / special_tokens_map.json (the latter wins when
    // non-null, as in transformers). Tokens missing from the vocabulary are appended as new special
    // tokens, and listed ones become special (transformers does both at load).
    auto pick = [&](const char* key) {
        std::string v = stm.is_object() ? token_string(stm, key) : "";
        if (v.empty() && cfg.is_object()) v = token_string(cfg, key);
        return v;
    };
    t->bos = pick("bos_token");
    t->eos = pick("eos_token");
    t->pad = pick("pad_token");
    std::string unk = pick("unk_token");
    std::vector<std::string> extra;
    for (const json* src_cfg : {&cfg, &stm}) {
        if (!src_cfg->is_object() || !src_cfg->contains("additional_special_tokens")) continue;
        const json& arr = (*src_cfg)["additional_special_tokens"];
        if (!arr.is_array()) continue;
        for (auto& x : arr) {
            if (x.is_string()) extra.push_back(x.get<std::string>());
            else if (x.is_object() && x.contains("content") && x["content"].is_string())
                extra.push_back(x["content"].get<std::string>());
        }
    }
    // Janus' VLChatProcessor adds <image_placeholder> as a special token when the tokenizer lacks it
    // (the original Janus-1.3B tokenizer.json did), at id = vocabulary length (facts §3.3).
    if (model_cfg.is_object()) {
        bool janus = model_cfg.value("model_type", "") == "multi_modality";
        if (model_cfg.contains("architectures") && model_cfg["architectures"].is_array())
            for (auto& a : model_cfg["architectures"]) janus = janus || a == "MultiModalityCausalLM";
        if (janus) extra.push_back("<image_placeholder>");
    }
    int32_t next_id = t->model->id_count();
    for (auto& a : t->added) next_id = std::max(next_id, a.id + 1);
    std::vector<std::string> specials = {t->bos, t->eos, t->pad, unk};
    specials.insert(specials.end(), extra.begin(), extra.end());
    for (const auto& s : specials) {
        if (s.empty()) continue;
        auto it = std::find_if(t->added.begin(), t->added.end(), [&](const AddedToken& a) { return a.content == s; });
        if (it != t->added.end()) {
            it->special = true;
            continue;
        }
        AddedToken tok;
        tok.content = s;
        tok.special = true;
        int32_t m = t->model->find(s);
        tok.id = m >= 0 ? m : next_id++;
        t->added.push_back(std::move(tok));
    }

    // Id tables.
    int32_t n = t->model->id_count();
    for (auto& a : t->added) n = std::max(n, a.id + 1);
    t->vocab_size = n;
    t->id_to_token.resize(size_t(n));
    for (int32_t i = 0; i < t->model->id_count(); ++i) t->id_to_token[size_t(i)] = t->model->token(i);
    t->special.assign(size_t(n), 0);
    for (size_t i = 0; i < t->added.size(); ++i) {
        auto& a = t->added[i];
        t->id_to_token[size_t(a.id)] = a.content;
        t->special[size_t(a.id)] = a.special ? 1 : 0;
        t->added_by_id[a.id] = i;
        t->added_by_content[a.content] = a.id;
    }

    // Matchers: non-normalized tokens on the raw text; normalized ones on the normalized text
    // (their content normalized the same way).
    std::vector<const AddedToken*> plain, norm;
    for (auto& a : t->added) (a.normalized && t->normalizer ? norm : plain).push_back(&a);
    if (!norm.empty()) {
        // Store normalized copies alongside (owned by a second vector inside the impl).
        auto owned = std::make_shared<std::vector<AddedToken>>();
        owned->reserve(norm.size());
        for (auto* a : norm) {
            AddedToken c = *a;
            t->normalizer->apply(c.content);
            owned->push_back(std::move(c));
        }
        std::vector<const AddedToken*> ptrs;
        for (auto& c : *owned) ptrs.push_back(&c);
        t->normalized_matcher.build(ptrs);
        t->normalized_owned = owned;
    }
    t->raw_matcher.build(plain);

    // Post-processor: transformers' LlamaTokenizer(Fast) rewrites it from add_bos_token /
    // add_eos_token (default true / false) — this is how Janus-Pro gets its BOS (facts §3.1).
    std::string cls = cfg.is_object() ? jstr(cfg, "tokenizer_class", W, "") : "";
    bool llama_like = cls == "LlamaTokenizer" || cls == "LlamaTokenizerFast" || cls == "CodeLlamaTokenizer" ||
                      cls == "CodeLlamaTokenizerFast";
    VocabLookup lookup(*t);
    if (llama_like) {
        bool add_bos = cfg.is_object() ? jbool(cfg, "add_bos_token", W + " (tokenizer_config)", true) : true;
        bool add_eos = cfg.is_object() ? jbool(cfg, "add_eos_token", W + " (tokenizer_config)", false) : false;
        std::vector<int32_t> pre, post;
        if (add_bos && !t->bos.empty()) pre.push_back(lookup.id_of(t->bos, "tokenizer_config.json: bos_token"));
        if (add_eos && !t->eos.empty()) post.push_back(lookup.id_of(t->eos, "tokenizer_config.json: eos_token"));
        t->post_processor = make_affix_processor(pre, post);
    } else if (tj.contains("post_processor") && !tj["post_processor"].is_null()) {
        t->post_processor = make_post_processor(tj["post_processor"], W + ": post_processor", lookup);
    }

    if (cfg.is_object()) {
        // transformers' decode() applies clean_up_tokenization when asked (tokenizers/cleanup.cpp).
        // Absent = false, as in transformers >= 4.45 (the Python reference); @lenml/tokenizers
        // (transformers.js) defaults to true — every tokenizer we test spells the key out.
        t->clean_up_spaces = jbool(cfg, "clean_up_tokenization_spaces", W + " (tokenizer_config)", false);
        auto ct = cfg.find("chat_template");
        if (ct != cfg.end() && ct->is_string()) t->chat_template = ct->get<std::string>();
        else if (ct != cfg.end() && ct->is_array())  // [{"name": "default", "template": "..."}]
            for (auto& e : *ct)
                if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
                    t->chat_template = e["template"].get<std::string>();
    }
    if (model_cfg.is_object()) {
        t->model_type = model_cfg.value("model_type", "");
        if (model_cfg.contains("architectures") && model_cfg["architectures"].is_array())
            for (auto& a : model_cfg["architectures"])
                if (a.is_string()) t->architectures.push_back(a.get<std::string>());
    }
    return t;
}

// ---- encode ------------------------------------------------------------------------------------

void TokenizerImpl::encode(std::string_view input, bool add_special, std::vector<int32_t>& ids) const {
    ids.clear();
    // Invalid UTF-8: byte-level tokenizers keep the raw bytes (escaped as private-use chars until
    // the byte mapping); others see U+FFFD, like a UTF-8 decoder would produce.
    std::string fixed;
    bool escapes = false;
    std::string_view text = input;
    if (!utf8_valid(input)) {
        if (byte_level) {
            escapes = true;
            for (size_t i = 0; i < input.size();) {
                int len;
                int32_t cp = utf8_decode(input, i, &len);
                if (cp < 0) utf8_append(fixed, kRawByteBase + static_cast<unsigned char>(input[i]));
                else fixed.append(input.substr(i, size_t(len)));
                i += size_t(len);
            }
        } else {
            fixed = utf8_lossy(input);
        }
        text = fixed;
    }

    std::vector<Segment> segs, sub;
    raw_matcher.split(text, segs);
    std::vector<Piece> pieces;
    std::string mapped, normalized;
    auto run_model = [&](std::string&& s, bool at_origin) {
        if (s.empty()) return;
        pieces.clear();
        pieces.push_back({std::move(s), at_origin});
        if (pre_tokenizer) pre_tokenizer->apply(pieces);
        for (auto& p : pieces) {
            if (byte_level) {
                byte_level_map(p.text, mapped, escapes);
                model->encode_word(mapped, ids);
            } else {
                model->encode_word(p.text, ids);
            }
        }
    };
    for (auto& sg : segs) {
        if (sg.id >= 0) { ids.push_back(sg.id); continue; }
        if (sg.end == sg.begin) continue;
        bool at_origin = sg.begin == 0;
        normalized.assign(text.substr(sg.begin, sg.end - sg.begin));
        if (normalizer) normalizer->apply(normalized);
        if (normalized_matcher.empty()) {
            run_model(std::move(normalized), at_origin);
            continue;
        }
        normalized_matcher.split(normalized, sub);
        for (auto& s2 : sub) {
            if (s2.id >= 0) ids.push_back(s2.id);
            else run_model(normalized.substr(s2.begin, s2.end - s2.begin), at_origin && s2.begin == 0);
        }
    }
    if (add_special && post_processor) ids = post_processor->apply(std::move(ids));
}

// ---- decode ------------------------------------------------------------------------------------

std::string TokenizerImpl::decode(std::span<const int32_t> ids, bool skip_special) const {
    std::vector<std::string> toks;
    toks.reserve(ids.size());
    for (int32_t id : ids) {
        if (id < 0 || id >= vocab_size) continue;  // unknown ids are skipped, as the reference does
        if (skip_special && special[size_t(id)]) continue;
        std::string_view s = id_to_token[size_t(id)];
        if (s.empty()) continue;
        toks.emplace_back(s);
    }
    std::string out;
    if (decoder) {
        decoder->apply(toks);
        for (auto& t : toks) out += t;
    } else {
        for (size_t i = 0; i < toks.size(); ++i) {
            if (i) out.push_back(' ');
            out += toks[i];
        }
    }
    return out;
}

}  // namespace tok_detail

// ---- public API --------------------------------------------------------------------------------

using tok_detail::json;

Tokenizer::Tokenizer(std::shared_ptr<const tok_detail::TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string& path) {
    std::string dir, file = path;
    if (tok_detail::is_dir(path)) {
        dir = path;
        file = path + "/tokenizer.json";
        if (!tok_detail::is_file(file) && tok_detail::is_file(file + ".gz")) file += ".gz";
        if (!tok_detail::is_file(file))
            throw Error(path + ": no tokenizer.json in this directory; pass the model directory that holds it "
                               "or the path of a tokenizer.json file");
    } else if (!tok_detail::is_file(path)) {
        throw Error(path + ": no such file or directory; pass a model directory or a tokenizer.json file");
    } else {
        auto slash = path.find_last_of('/');
        dir = slash == std::string::npos ? "." : path.substr(0, slash);
    }
    tok_detail::RawModel raw;
    json tj = tok_detail::parse_tokenizer(tok_detail::read_file(file), file, raw);
    json cfg, stm, mcfg;
    auto opt = [&](const std::string& name) -> json {
        std::string p = dir + "/" + name;
        if (!tok_detail::is_file(p)) return json();
        return tok_detail::parse_json(tok_detail::read_file(p), p);
    };
    cfg = opt("tokenizer_config.json");
    stm = opt("special_tokens_map.json");
    mcfg = opt("config.json");
    return Tokenizer(tok_detail::build(tj, std::move(raw), cfg, stm, mcfg, file));
}

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                               const std::string& source) {
    tok_detail::RawModel raw;
    json tj = tok_detail::parse_tokenizer(tokenizer_json, source, raw);
    json cfg;
    if (!tokenizer_config_json.empty()) cfg = tok_detail::parse_json(tokenizer_config_json, source + " (tokenizer_config)");
    return Tokenizer(tok_detail::build(tj, std::move(raw), cfg, json(), json(), source));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
    std::vector<int32_t> ids;
    impl_->encode(text, add_special, ids);
    return ids;
}

std::vector<int32_t> Tokenizer::encode_with_tokens(std::string_view text, bool add_special,
                                                   std::vector<std::string>* tokens) const {
    auto ids = encode(text, add_special);
    if (tokens) {
        tokens->clear();
        for (int32_t id : ids) tokens->push_back(id_to_token(id));
    }
    return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    std::string text = impl_->decode(ids, skip_special);
    if (impl_->clean_up_spaces) tok_detail::clean_up_tokenization(text);
    return tok_detail::utf8_lossy(text);
}

bool Tokenizer::clean_up_tokenization_spaces() const { return impl_->clean_up_spaces; }

std::string Tokenizer::decode_raw(std::span<const int32_t> ids, bool skip_special) const {
    return impl_->decode(ids, skip_special);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const { return impl_->find(token); }

int32_t Tokenizer::require_id(std::string_view token) const {
    auto id = impl_->find(token);
    if (!id)
        throw Error(impl_->source + ": token \"" + std::string(token) +
                    "\" is not in this tokenizer's vocabulary; is this the right model's tokenizer?");
    return *id;
}

std::string Tokenizer::id_to_token(int32_t id) const {
    if (!has_id(id))
        throw Error(impl_->source + ": token id " + std::to_string(id) + " is outside the vocabulary (size " +
                    std::to_string(impl_->vocab_size) + ")");
    return std::string(impl_->id_to_token[size_t(id)]);
}

bool Tokenizer::has_id(int32_t id) const {
    return id >= 0 && id < impl_->vocab_size && !impl_->id_to_token[size_t(id)].empty();
}
bool Tokenizer::is_special(int32_t id) const { return has_id(id) && impl_->special[size_t(id)]; }
int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos.empty() ? std::nullopt : impl_->find(impl_->bos); }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos.empty() ? std::nullopt : impl_->find(impl_->eos); }
std::optional<int32_t> Tokenizer::pad_id() const { return impl_->pad.empty() ? std::nullopt : impl_->find(impl_->pad); }
const std::string& Tokenizer::bos_token() const { return impl_->bos; }
const std::string& Tokenizer::eos_token() const { return impl_->eos; }
const std::string& Tokenizer::pad_token() const { return impl_->pad; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
const std::vector<std::string>& Tokenizer::architectures() const { return impl_->architectures; }
const std::string& Tokenizer::model_type() const { return impl_->model_type; }
const std::string& Tokenizer::source() const { return impl_->source; }

// ---- streaming decode --------------------------------------------------------------------------

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tok_(tokenizer), skip_special_(skip_special) {}

void StreamDecoder::reset() {
    ids_.clear();
    prefix_ = 0;
    read_ = 0;
    emitted_.clear();
    pending_.clear();
}

// With the clean-up on, decoded text goes through pending_: what can no longer change is cleaned
// and returned, the rest waits (all of it at the end).
std::string StreamDecoder::clean(std::string piece, bool final) {
    if (!tok_.clean_up_tokenization_spaces()) return piece;
    pending_ += piece;
    size_t n = final ? pending_.size() : tok_detail::cleanup_stable_prefix(pending_);
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    tok_detail::clean_up_tokenization(out);
    return out;
}

// The window ids_[prefix_..] is re-decoded on each push. ids_[prefix_..read_) are the tokens of the
// last emitted chunk, kept as left context (they start and end on character boundaries, and give
// decoders such as Metaspace/Strip their "not the first token" context); emitted_ is their text.
std::string StreamDecoder::push(int32_t id) {
    ids_.push_back(id);
    std::span<const int32_t> window(ids_.data() + prefix_, ids_.size() - prefix_);
    std::string text = tok_.decode_raw(window, skip_special_);
    size_t complete = tok_detail::utf8_complete_prefix(text);
    // A trailing U+FFFD may be a byte-fallback sequence still being completed: wait for more.
    if (complete < text.size() || (text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0))
        return "";
    if (text.size() <= emitted_.size()) return "";
    std::string out = tok_detail::utf8_lossy(std::string_view(text).substr(emitted_.size()));
    prefix_ = read_;
    read_ = ids_.size();
    if (prefix_ > 0) {  // drop ids before the context window
        ids_.erase(ids_.begin(), ids_.begin() + long(prefix_));
        read_ -= prefix_;
        prefix_ = 0;
    }
    std::span<const int32_t> ctx(ids_.data() + prefix_, read_ - prefix_);
    emitted_ = tok_.decode_raw(ctx, skip_special_);
    return clean(std::move(out), false);
}

std::string StreamDecoder::finish() {
    std::span<const int32_t> window(ids_.data() + prefix_, ids_.size() - prefix_);
    std::string text = tok_.decode_raw(window, skip_special_);
    std::string out;
    if (text.size() > emitted_.size()) out = tok_detail::utf8_lossy(std::string_view(text).substr(emitted_.size()));
    out = clean(std::move(out), true);
    reset();
    return out;
}

}  // namespace janus
