// ChatSession and ThinkSplitter (include/janus/chat.h): model bundle → LlamaModel + one-slot KV
// cache; each turn renders the whole conversation with the chat format, reuses the cached prefix and
// streams the reply through the tokenizer's StreamDecoder and the stop-string matcher.
#include "janus/chat.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kernels/backend.h"
#include "pipelines/model_bundle.h"
#include "text/generator.h"

namespace janus {

double ReplyStats::prefill_tok_s() const {
    return prefill_seconds > 0 ? double(prompt_tokens - cached_tokens) / prefill_seconds : 0;
}
double ReplyStats::decode_tok_s() const {
    return decode_seconds > 0 && generated_tokens > 1 ? double(generated_tokens - 1) / decode_seconds : 0;
}

struct ChatSession::Impl {
    ChatOptions opt;
    ModelBundle bundle;
    Backend* backend = nullptr;
    std::unique_ptr<LlamaModel> model;
    std::unique_ptr<KvCache> cache;
    std::optional<ChatFormat> format;
    std::vector<int32_t> stop_ids;
    std::vector<ChatMessage> messages;
    std::vector<int32_t> cached_ids;  // ids whose K/V are valid in slot 0
    uint64_t turn = 0;

    void start_conversation() {
        messages.clear();
        cached_ids.clear();
        if (opt.system.has_value() && !opt.system->empty()) messages.push_back({"system", *opt.system});
    }
};

ChatSession::ChatSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatSession::~ChatSession() = default;

std::unique_ptr<ChatSession> ChatSession::open(const ChatOptions& options) {
    auto im = std::make_unique<Impl>();
    im->opt = options;
    options.sampling.validate();
    if (options.max_tokens <= 0) throw Error("--max-tokens must be positive");
    if (options.ctx < 0) throw Error("--ctx must be >= 0 (0 = automatic)");
    if (options.threads > 0) set_cpu_threads(options.threads);
    BundleOptions bo;
    bo.require_tokenizer = true;
    im->bundle = open_model_bundle(options.model, bo);
    im->backend = &get_backend(options.device);
    LmRunOptions ro;
    ro.dtype = compute_dtype_from_name(options.dtype);
    ro.rope_exact = options.rope_exact;
    im->model = build_language_model(im->bundle, *im->backend, ro);
    const LmConfig& lm = im->bundle.lm;
    int64_t ctx = options.ctx > 0 ? options.ctx : std::min<int64_t>(4096, lm.max_position);
    if (ctx > lm.max_position)
        throw Error("--ctx " + std::to_string(ctx) + " exceeds the model's max_position_embeddings (" +
                    std::to_string(lm.max_position) + ")");
    im->cache = std::make_unique<KvCache>(*im->backend, lm, 1, ctx, im->model->default_kv_dtype());

    const Tokenizer& tok = *im->bundle.tokenizer;
    im->format = options.chat_format.empty() ? ChatFormat::detect(tok) : ChatFormat::by_name(options.chat_format);
    if (options.system.has_value()) im->format->default_system = "";
    im->stop_ids = im->format->stop_ids(tok);
    if (auto e = tok.eos_id()) im->stop_ids.push_back(*e);
    for (int32_t e : lm.eos_ids) im->stop_ids.push_back(e);
    im->start_conversation();
    return std::unique_ptr<ChatSession>(new ChatSession(std::move(im)));
}

std::string ChatSession::send(const std::string& user_message, const std::function<void(const std::string&)>& on_text,
                              const std::function<bool()>& should_stop, ReplyStats* stats) {
    Impl& im = *impl_;
    const Tokenizer& tok = *im.bundle.tokenizer;
    im.messages.push_back({"user", user_message});
    std::vector<int32_t> ids = im.format->encode(tok, im.messages, true);
    const int64_t ctx = im.cache->capacity();
    if (int64_t(ids.size()) >= ctx) {
        im.messages.pop_back();
        throw Error("context overflow: the conversation is " + std::to_string(ids.size()) +
                    " tokens but the context holds " + std::to_string(ctx) +
                    " — /reset the conversation, or restart with a larger --ctx");
    }
    size_t common = 0;
    while (common < ids.size() && common < im.cached_ids.size() && ids[common] == im.cached_ids[common]) common++;

    Generator gen(*im.model, *im.cache, 512);
    GenerationRequest req;
    req.prompt = ids;
    req.sampling = im.opt.sampling;
    req.max_tokens = im.opt.max_tokens;
    req.stop_ids = im.stop_ids;
    req.stream = im.turn++;
    req.slot = 0;
    req.cached_prefix = int64_t(common);
    req.vocab_limit = tok.vocab_size();
    const int handle = gen.add(req);

    StreamDecoder stream(tok, true);
    StopStringMatcher stops(im.opt.stop_strings);
    std::string reply;
    std::vector<int32_t> generated;
    ReplyStats st;
    st.prompt_tokens = int64_t(ids.size());
    st.cached_tokens = std::min<int64_t>(int64_t(common), int64_t(ids.size()) - 1);
    auto t0 = std::chrono::steady_clock::now(), t_first = t0;
    FinishReason fin = FinishReason::none;
    bool stopped_by_string = false;
    auto emit = [&](const std::string& s) {
        if (s.empty()) return;
        reply += s;
        if (on_text) on_text(s);
    };
    while (!gen.idle()) {
        for (const TokenEvent& e : gen.step()) {
            if (e.handle != handle) continue;
            if (e.token >= 0) {
                if (generated.empty()) t_first = std::chrono::steady_clock::now();
                generated.push_back(e.token);
                bool is_stop = e.finished == FinishReason::stop_token;
                if (!is_stop && !stopped_by_string) {
                    emit(stops.push(stream.push(e.token)));
                    if (stops.stopped()) {
                        stopped_by_string = true;
                        gen.cancel(handle);
                    }
                }
            }
            if (e.finished != FinishReason::none) fin = e.finished;
        }
        if (!stopped_by_string && should_stop && should_stop()) gen.cancel(handle);
    }
    if (!stopped_by_string) emit(stops.push(stream.finish()) + stops.finish());
    auto t1 = std::chrono::steady_clock::now();
    st.generated_tokens = int64_t(generated.size());
    st.prefill_seconds = std::chrono::duration<double>((generated.empty() ? t1 : t_first) - t0).count();
    st.decode_seconds = std::chrono::duration<double>(t1 - t_first).count();
    st.finish_reason = stopped_by_string ? "stop_string" : finish_reason_name(fin);
    if (stats) *stats = st;

    // What the cache now holds: the prompt and the generated tokens that were fed back.
    std::vector<int32_t> all = ids;
    all.insert(all.end(), generated.begin(), generated.end());
    all.resize(size_t(std::min<int64_t>(int64_t(all.size()), im.cache->length(0))));
    im.cached_ids = std::move(all);
    im.messages.push_back({"assistant", reply});
    return reply;
}

void ChatSession::reset() { impl_->start_conversation(); }

void ChatSession::save(const std::string& path) const {
    nlohmann::json j;
    j["format"] = impl_->format->name();
    j["model"] = impl_->bundle.dir;
    j["messages"] = nlohmann::json::array();
    for (auto& m : impl_->messages) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
    std::ofstream f(path);
    if (!f) throw Error(path + ": cannot write the conversation (check the directory exists and is writable)");
    f << j.dump(2) << "\n";
    if (!f) throw Error(path + ": write failed");
}

void ChatSession::load(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw Error(path + ": cannot open the conversation file");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(f);
    } catch (const std::exception& e) {
        throw Error(path + ": invalid JSON: " + e.what());
    }
    if (!j.contains("messages") || !j["messages"].is_array())
        throw Error(path + ": expected {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}");
    std::vector<ChatMessage> msgs;
    for (auto& m : j["messages"]) {
        if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
            !m["content"].is_string())
            throw Error(path + ": every message needs string 'role' and 'content'");
        std::string role = m["role"];
        if (role != "system" && role != "user" && role != "assistant")
            throw Error(path + ": unknown role '" + role + "' (system, user or assistant)");
        msgs.push_back({role, m["content"]});
    }
    impl_->messages = std::move(msgs);
    impl_->cached_ids.clear();
}

const std::vector<ChatMessage>& ChatSession::messages() const { return impl_->messages; }

bool ChatSession::reply_starts_thinking() const {
    std::vector<ChatMessage> probe = impl_->messages;
    probe.push_back({"user", "x"});
    std::string r = impl_->format->render(probe, true);
    while (!r.empty() && (r.back() == '\n' || r.back() == ' ')) r.pop_back();
    return r.size() >= 7 && r.compare(r.size() - 7, 7, "<think>") == 0;
}

std::string ChatSession::format_name() const { return impl_->format->name(); }
int64_t ChatSession::context_tokens() const { return impl_->cache->capacity(); }

std::string ChatSession::description() const {
    std::ostringstream s;
    const auto& m = *impl_->model;
    s << model_family_name(impl_->bundle.family) << " (" << impl_->bundle.lm.summary() << "); weights "
      << dtype_name(m.weights().dtype()) << ", compute " << (m.bf16() ? "bf16" : "f32") << ", "
      << impl_->backend->name() << ", context " << impl_->cache->capacity() << ", chat format " << format_name();
    return s.str();
}

// ---- ThinkSplitter ------------------------------------------------------------------------------

std::vector<ThinkSplitter::Segment> ThinkSplitter::push(const std::string& text) {
    std::vector<Segment> out;
    pending_ += text;
    auto add = [&](bool th, std::string s) {
        if (s.empty()) return;
        if (!out.empty() && out.back().thinking == th) out.back().text += s;
        else out.push_back({th, std::move(s)});
    };
    for (;;) {
        const std::string tag = thinking_ ? "</think>" : "<think>";
        size_t at = pending_.find(tag);
        if (at == std::string::npos) break;
        add(thinking_, pending_.substr(0, at));
        pending_.erase(0, at + tag.size());
        thinking_ = !thinking_;
    }
    // Hold back a suffix that could be the start of the next tag.
    const std::string tag = thinking_ ? "</think>" : "<think>";
    size_t hold = 0;
    for (size_t k = std::min(tag.size() - 1, pending_.size()); k > 0; k--)
        if (pending_.compare(pending_.size() - k, k, tag, 0, k) == 0) {
            hold = k;
            break;
        }
    add(thinking_, pending_.substr(0, pending_.size() - hold));
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::vector<ThinkSplitter::Segment> ThinkSplitter::finish() {
    std::vector<Segment> out;
    if (!pending_.empty()) out.push_back({thinking_, pending_});
    pending_.clear();
    return out;
}

}  // namespace janus
