// ChatSession and ThinkSplitter (include/janus/chat.h): model bundle → LlamaModel + one-slot KV
// cache; each turn renders the whole conversation with the chat format, reuses the cached prefix and
// streams the reply through the tokenizer's StreamDecoder and the stop-string matcher.
//
// Images (Janus): the ImageEmbedder of the understanding pipeline (pipelines/understand.h) encodes
// each image once into [N, H] embeddings kept for the session; the prompt ids [T] are expanded
// (BOI + N image ids + EOI) and compared with the cache by key — the id for text, a per-image serial
// for image positions — so a different image never reuses stale K/V. When the uncached part holds
// image positions, it is prefilled here from spliced embeddings [T−1−cached, H]; the Generator then
// feeds the last prompt token and decodes.
#include "janus/chat.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kernels/backend.h"
#include "pipelines/model_bundle.h"
#include "pipelines/understand.h"
#include "text/generator.h"

namespace janus {

double ReplyStats::prefill_tok_s() const {
    return prefill_seconds > 0 ? double(prompt_tokens - cached_tokens) / prefill_seconds : 0;
}
double ReplyStats::decode_tok_s() const {
    return decode_seconds > 0 && generated_tokens > 1 ? double(generated_tokens - 1) / decode_seconds : 0;
}

namespace {
constexpr int64_t kImageKey = int64_t(1) << 40;  // cache keys >= this are image positions

struct ChatImage {
    std::string path;    // "" when attached from memory
    RgbImage image;      // cleared once encoded
    Tensor embedding;    // [N, H] f32 on the backend (undefined until encoded)
    uint64_t serial = 0; // unique in the session: the cache key of its positions
};
using ImageList = std::vector<std::shared_ptr<ChatImage>>;

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

struct ChatSession::Impl {
    ChatOptions opt;
    ModelBundle bundle;
    Backend* backend = nullptr;
    std::unique_ptr<LlamaModel> model;
    std::unique_ptr<KvCache> cache;
    std::optional<ChatFormat> format;
    std::vector<int32_t> stop_ids;
    std::vector<ChatMessage> messages;
    std::vector<ImageList> message_images;  // parallel to messages
    ImageList pending;                      // attached to the next user message
    std::unique_ptr<ImageEmbedder> vis;     // loaded on the first image
    uint64_t next_serial = 0;
    std::vector<int64_t> cached_keys;  // keys (ids / image serials) whose K/V are valid in slot 0
    uint64_t turn = 0;

    void start_conversation() {
        messages.clear();
        message_images.clear();
        pending.clear();
        cached_keys.clear();
        if (opt.system.has_value() && !opt.system->empty()) {
            messages.push_back({"system", *opt.system});
            message_images.emplace_back();
        }
    }
    ImageEmbedder& vision() {
        if (!vis) {
            if (!bundle.is_janus())
                throw Error("model " + bundle.dir + " has no image encoder; --image needs a Janus checkpoint (this is a " +
                            std::string(model_family_name(bundle.family)) + " text model)");
            vis = ImageEmbedder::load(bundle, *backend);
        }
        return *vis;
    }
    std::shared_ptr<ChatImage> new_image(RgbImage img, std::string path) {
        auto c = std::make_shared<ChatImage>();
        c->image = std::move(img);
        c->path = std::move(path);
        c->serial = next_serial++;
        return c;
    }
    // Encodes the images without embeddings (one SigLIP batch).
    void encode_images(const ImageList& all) {
        std::vector<RgbImage> todo;
        std::vector<ChatImage*> who;
        for (auto& c : all)
            if (!c->embedding.defined()) {
                todo.push_back(std::move(c->image));
                who.push_back(c.get());
            }
        if (todo.empty()) return;
        ImageEmbedder::Output e = vision().embed(todo);
        const int64_t N = vis->tokens_per_image();
        for (size_t k = 0; k < who.size(); ++k) {
            who[k]->embedding = e.aligned.rows(int64_t(k) * N, int64_t(k + 1) * N);
            who[k]->image = RgbImage();
        }
    }
    // Prompt ids [T] (images expanded) and their cache keys for the whole conversation.
    void build_prompt(const ImageList& all, std::vector<int32_t>* ids, std::vector<int64_t>* keys) {
        const Tokenizer& tok = *bundle.tokenizer;
        if (!vis) {
            *ids = format->encode(tok, messages, true);
            keys->assign(ids->begin(), ids->end());
            return;
        }
        *ids = vis->expand(vis->encode_prompt(*format, messages, true));
        keys->resize(ids->size());
        const int64_t N = vis->tokens_per_image();
        size_t k = 0;
        for (size_t p = 0; p < ids->size(); ++p) {
            if ((*ids)[p] != vis->image_id()) {
                (*keys)[p] = (*ids)[p];
                continue;
            }
            if (k >= all.size())
                throw Error("the conversation has more <image_placeholder> markers than images (" +
                            std::to_string(all.size()) + "); attach one image per marker (/image PATH or --image)");
            for (int64_t i = 0; i < N && p < ids->size(); ++i, ++p) (*keys)[p] = kImageKey + int64_t(all[k]->serial);
            --p;
            ++k;
        }
        if (k != all.size())
            throw Error("the conversation has " + std::to_string(k) + " <image_placeholder> markers but " +
                        std::to_string(all.size()) + " images");
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
    auto t0 = std::chrono::steady_clock::now();
    // Throws (nothing changed yet) when the message holds a marker count other than 0 or one per image.
    std::string content = im.pending.empty() ? user_message : understand_user_content(user_message, im.pending.size());
    ImageList attached = std::move(im.pending);
    im.pending.clear();
    im.messages.push_back({"user", std::move(content)});
    im.message_images.push_back(attached);
    ImageList all;
    for (auto& v : im.message_images) all.insert(all.end(), v.begin(), v.end());
    std::vector<int32_t> ids;
    std::vector<int64_t> keys;
    size_t common = 0;
    double vision_s = 0;
    int64_t image_positions = 0;
    bool prefilled = false;  // the image-bearing part was prefilled here: the cache holds T − 1 positions
    try {
        im.build_prompt(all, &ids, &keys);
        const int64_t ctx = im.cache->capacity();
        if (int64_t(ids.size()) >= ctx)
            throw Error("context overflow: the conversation is " + std::to_string(ids.size()) +
                        " tokens but the context holds " + std::to_string(ctx) +
                        " — /reset the conversation, or restart with a larger --ctx");
        while (common < keys.size() && common < im.cached_keys.size() && keys[common] == im.cached_keys[common])
            common++;
        for (int64_t k : keys) image_positions += k >= kImageKey;
        // Image positions outside the cached prefix: prefill [common, T−1) from spliced embeddings.
        const int64_t T = int64_t(ids.size());
        common = size_t(std::min<int64_t>(int64_t(common), T - 1));
        bool new_images = false;
        for (int64_t p = int64_t(common); p < T - 1; ++p) new_images |= keys[size_t(p)] >= kImageKey;
        if (new_images) {
            auto tv = std::chrono::steady_clock::now();
            im.encode_images(all);
            vision_s = seconds_since(tv);
            Backend& b = *im.backend;
            const int64_t from = int64_t(common), H = im.bundle.lm.hidden;
            std::vector<int32_t> rest(ids.begin() + from, ids.end());
            Tensor emb = b.alloc(DType::f32, {T - from, H});
            im.model->embed(emb, b.upload(Tensor::from_i32(rest, {T - from})));
            std::vector<Tensor> per_image;
            for (auto& c : all) per_image.push_back(c->embedding);
            im.vis->splice(b, emb, ids, from, per_image);
            im.cached_keys.clear();  // the slot is rewritten from `from` on
            for (int64_t s = from; s < T - 1; s += 512) {
                SeqChunk c;
                c.slot = 0;
                c.start = s;
                c.embeds = emb.rows(s - from, std::min<int64_t>(s + 512, T - 1) - from);
                c.output = OutputRows::none;
                im.model->forward(std::span<const SeqChunk>(&c, 1), *im.cache, false);
            }
            b.synchronize();
            prefilled = true;
        }
    } catch (...) {
        im.messages.pop_back();
        im.message_images.pop_back();
        im.pending = std::move(attached);
        throw;
    }

    Generator gen(*im.model, *im.cache, 512);
    GenerationRequest req;
    req.prompt = ids;
    req.sampling = im.opt.sampling;
    req.max_tokens = im.opt.max_tokens;
    req.stop_ids = im.stop_ids;
    req.stream = im.turn++;
    req.slot = 0;
    req.cached_prefix = prefilled ? int64_t(ids.size()) - 1 : int64_t(common);
    req.vocab_limit = im.opt.full_vocab ? 0 : tok.vocab_size();
    const int handle = gen.add(req);

    StreamDecoder stream(tok, true);
    StopStringMatcher stops(im.opt.stop_strings);
    std::string reply;
    std::vector<int32_t> generated;
    ReplyStats st;
    st.prompt_tokens = int64_t(ids.size());
    st.cached_tokens = int64_t(common);
    st.images = int(all.size());
    st.image_tokens = image_positions;
    st.vision_seconds = vision_s;
    auto t_first = t0;
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
    st.tokens = generated;
    st.prefill_seconds = std::chrono::duration<double>((generated.empty() ? t1 : t_first) - t0).count();
    st.decode_seconds = std::chrono::duration<double>(t1 - t_first).count();
    st.finish_reason = stopped_by_string ? "stop_string" : finish_reason_name(fin);
    if (stats) *stats = st;

    // What the cache now holds: the prompt and the generated tokens that were fed back.
    keys.insert(keys.end(), generated.begin(), generated.end());
    keys.resize(size_t(std::min<int64_t>(int64_t(keys.size()), im.cache->length(0))));
    im.cached_keys = std::move(keys);
    im.messages.push_back({"assistant", reply});
    im.message_images.emplace_back();
    return reply;
}

void ChatSession::reset() { impl_->start_conversation(); }

void ChatSession::attach_image(const std::string& path) {
    impl_->vision();  // the model check comes first
    impl_->pending.push_back(impl_->new_image(read_image(path), path));
}

void ChatSession::attach_image(RgbImage image, const std::string& label) {
    impl_->vision();
    if (image.width <= 0 || image.height <= 0 || image.pixels.size() != size_t(image.width) * image.height * 3)
        throw Error("image " + (label.empty() ? std::string("(from memory)") : label) + " is empty or malformed");
    impl_->pending.push_back(impl_->new_image(std::move(image), ""));
}

size_t ChatSession::pending_images() const { return impl_->pending.size(); }
bool ChatSession::has_image_encoder() const { return impl_->bundle.is_janus(); }

void ChatSession::save(const std::string& path) const {
    nlohmann::json j;
    j["format"] = impl_->format->name();
    j["model"] = impl_->bundle.dir;
    j["messages"] = nlohmann::json::array();
    for (size_t i = 0; i < impl_->messages.size(); ++i) {
        const ChatMessage& m = impl_->messages[i];
        nlohmann::json e = {{"role", m.role}, {"content", m.content}};
        for (auto& c : impl_->message_images[i]) {
            if (c->path.empty())
                throw Error(path + ": cannot save the conversation: an image was attached from memory, not a file");
            e["images"].push_back(c->path);
        }
        j["messages"].push_back(e);
    }
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
    std::vector<ImageList> images;
    for (auto& m : j["messages"]) {
        if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
            !m["content"].is_string())
            throw Error(path + ": every message needs string 'role' and 'content'");
        std::string role = m["role"];
        if (role != "system" && role != "user" && role != "assistant")
            throw Error(path + ": unknown role '" + role + "' (system, user or assistant)");
        msgs.push_back({role, m["content"]});
        images.emplace_back();
        if (m.contains("images")) {
            if (!m["images"].is_array()) throw Error(path + ": 'images' must be a list of image file paths");
            for (auto& f : m["images"]) {
                if (!f.is_string()) throw Error(path + ": 'images' must be a list of image file paths");
                impl_->vision();
                images.back().push_back(impl_->new_image(read_image(f.get<std::string>()), f.get<std::string>()));
            }
        }
    }
    impl_->messages = std::move(msgs);
    impl_->message_images = std::move(images);
    impl_->pending.clear();
    // The KV cache is kept: the next send() reuses only positions whose keys (ids, image serials —
    // new for every loaded image) match the loaded conversation.
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
