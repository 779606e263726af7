// Understander: Janus image understanding — preprocessing, SigLIP + aligner, placeholder expansion,
// embedding splice, prefill of all rows in one forward, then greedy (or sampled) decoding of all
// rows together, one token per row per step. See include/janus/understand.h and pipelines/understand.h.
#include "pipelines/understand.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "janus/chat_format.h"
#include "janus/tokenizer.h"
#include "pipelines/model_bundle.h"
#include "text/kv_cache.h"
#include "text/llama_model.h"
#include "text/sampling.h"

namespace janus {

namespace {

constexpr const char* kPlaceholder = "<image_placeholder>";

double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<float> to_host(Backend& be, const Tensor& t) {
    Tensor h = Tensor::empty(DType::f32, t.shape());
    be.copy(h, t);
    be.synchronize();
    return std::vector<float>(h.ptr<float>(), h.ptr<float>() + h.numel());
}

size_t count_of(const std::string& s, const std::string& needle) {
    size_t n = 0;
    for (size_t i = s.find(needle); i != std::string::npos; i = s.find(needle, i + needle.size())) ++n;
    return n;
}

}  // namespace

std::string understand_user_content(const std::string& question, size_t n_images) {
    size_t have = count_of(question, kPlaceholder);
    if (have == n_images && have > 0) return question;
    if (have != 0)
        throw Error("the question contains " + std::to_string(have) + " <image_placeholder> markers but " +
                    std::to_string(n_images) + " images were given; use one marker per image, or none");
    std::string c;
    for (size_t i = 0; i < n_images; ++i) c += std::string(kPlaceholder) + "\n";
    return c + question;
}

std::vector<int32_t> expand_image_tokens(const std::vector<int32_t>& ids, int32_t image, int32_t boi, int32_t eoi,
                                         int n) {
    std::vector<int32_t> out;
    out.reserve(ids.size() + 600);
    for (int32_t t : ids) {
        if (t != image) {
            out.push_back(t);
            continue;
        }
        out.push_back(boi);
        out.insert(out.end(), size_t(n), image);
        out.push_back(eoi);
    }
    return out;
}

struct Understander::Impl {
    UnderstandOptions opt;
    ModelBundle bundle;
    Backend* be = nullptr;
    std::unique_ptr<LlamaModel> lm;
    std::unique_ptr<ImageEmbedder> vis;  // SigLIP + aligner, placeholder ids, splice
    std::optional<ChatFormat> format;
    std::vector<int32_t> stop_ids;

    std::vector<UnderstandResult> run(const std::vector<UnderstandRow>& rows,
                                      const std::function<void(size_t, const std::string&)>& on_text);
};

Understander::Understander(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Understander::~Understander() = default;

std::unique_ptr<Understander> Understander::open(const UnderstandOptions& options) {
    auto im = std::make_unique<Impl>();
    im->opt = options;
    options.sampling.validate();
    if (options.max_new_tokens <= 0) throw Error("--max-new-tokens must be positive");
    if (options.threads > 0) set_cpu_threads(options.threads);
    BundleOptions bo;
    bo.require_tokenizer = true;
    im->bundle = open_model_bundle(options.model, bo);
    if (!im->bundle.is_janus())
        throw Error(options.model + ": this is a " + std::string(model_family_name(im->bundle.family)) +
                    " text model; image understanding needs a Janus / Janus-Pro checkpoint");
    im->be = &get_backend(options.device);
    LmRunOptions ro;
    ro.dtype = compute_dtype_from_name(options.dtype);
    ro.rope_exact = options.rope_exact;
    im->lm = build_language_model(im->bundle, *im->be, ro);
    im->vis = ImageEmbedder::load(im->bundle, *im->be);
    const Tokenizer& tok = *im->bundle.tokenizer;
    im->format = ChatFormat::by_name("janus");
    if (options.system.has_value()) im->format->default_system = *options.system;
    im->stop_ids = im->format->stop_ids(tok);
    if (auto e = tok.eos_id()) im->stop_ids.push_back(*e);
    for (int32_t e : im->bundle.lm.eos_ids) im->stop_ids.push_back(e);
    return std::unique_ptr<Understander>(new Understander(std::move(im)));
}

int Understander::image_size() const { return int(impl_->vis->image_size()); }
int Understander::image_tokens() const { return int(impl_->vis->tokens_per_image()); }

std::string Understander::description() const {
    return impl_->bundle.dir + ": " + impl_->bundle.lm.summary() + "; " + impl_->vis->summary() + "; LM compute " +
           (impl_->lm->bf16() ? "bf16" : "f32") + ", vision f32; " + impl_->be->name();
}

UnderstandResult Understander::ask(const std::vector<RgbImage>& images, const std::string& question,
                                   const std::function<void(const std::string&)>& on_text) {
    std::function<void(size_t, const std::string&)> cb;
    if (on_text) cb = [&](size_t, const std::string& s) { on_text(s); };
    return impl_->run({UnderstandRow{images, question}}, cb).at(0);
}

std::vector<UnderstandResult> Understander::Impl::run(const std::vector<UnderstandRow>& rows,
                                                      const std::function<void(size_t, const std::string&)>& on_text) {
    Backend& b = *be;
    const Tokenizer& tok = *bundle.tokenizer;
    const int64_t S = vis->image_size(), N = vis->tokens_per_image(), H = bundle.lm.hidden, V = bundle.lm.vocab_size;
    const bool dump = !opt.dump_dir.empty();
    if (dump) std::filesystem::create_directories(opt.dump_dir);
    auto dpath = [&](const std::string& name, size_t row) {
        std::string stem = name, ext = ".npy";
        if (row > 0) stem += "_row" + std::to_string(row);
        return (std::filesystem::path(opt.dump_dir) / (stem + ext)).string();
    };
    std::vector<UnderstandResult> res(rows.size());

    // ---- vision: every image of every row, in order ----
    auto t0 = std::chrono::steady_clock::now();
    int n_img = 0;
    for (const auto& r : rows) n_img += int(r.images.size());
    std::vector<Tensor> per_image;  // [N, H] rows of the aligner output, one per image in order
    if (n_img > 0) {
        std::vector<RgbImage> all;
        for (const auto& r : rows) all.insert(all.end(), r.images.begin(), r.images.end());
        ImageEmbedder::Output e = vis->embed(all);
        for (int64_t k = 0; k < n_img; ++k) per_image.push_back(e.aligned.rows(k * N, (k + 1) * N));
        if (dump) {
            const int64_t W = e.features.dim(2);
            write_npy_f32(dpath("pixel_values", 0), e.pixels.data(), {n_img, 3, S, S});
            write_npy_f32(dpath("siglip_features", 0), to_host(b, e.features).data(), {n_img, N, W});
            write_npy_f32(dpath("aligner_out", 0), to_host(b, e.aligned).data(), {n_img, N, H});
        }
    }
    b.synchronize();
    double vision_s = since(t0);

    // ---- prompts and spliced embeddings ----
    std::vector<std::vector<int32_t>> ids(rows.size());
    std::vector<Tensor> embeds(rows.size());
    int64_t longest = 0;
    int img_base = 0;
    for (size_t r = 0; r < rows.size(); ++r) {
        std::vector<ChatMessage> msgs = {{"user", understand_user_content(rows[r].question, rows[r].images.size())}};
        ids[r] = vis->expand(vis->encode_prompt(*format, msgs, true));
        const int64_t T = int64_t(ids[r].size());
        longest = std::max(longest, T);
        embeds[r] = b.alloc(DType::f32, {T, H});
        lm->embed(embeds[r], b.upload(Tensor::from_i32(ids[r], {T})));
        vis->splice(b, embeds[r], ids[r], 0,
                    std::span<const Tensor>(per_image).subspan(size_t(img_base), rows[r].images.size()));
        img_base += int(rows[r].images.size());
        res[r].prompt_tokens = T;
        res[r].images = int(rows[r].images.size());
        if (dump) {
            std::vector<int64_t> ids64(ids[r].begin(), ids[r].end());
            write_npy_i64(dpath("input_ids", r), ids64.data(), {T});
            write_npy_f32(dpath("inputs_embeds", r), to_host(b, embeds[r]).data(), {T, H});
        }
    }

    // ---- prefill all rows in one forward, then decode them together ----
    const int64_t cap = std::min<int64_t>(bundle.lm.max_position, longest + opt.max_new_tokens);
    KvCache cache(b, bundle.lm, int(rows.size()), cap, lm->default_kv_dtype());
    std::vector<TokenHistory> hist(rows.size());
    std::vector<std::vector<float>> step_logits(rows.size());
    std::vector<StreamDecoder> text;
    for (size_t r = 0; r < rows.size(); ++r) {
        text.emplace_back(tok, true);
        hist[r].add_prompt(ids[r]);
        if (int64_t(ids[r].size()) >= cap)
            throw Error("the prompt (" + std::to_string(ids[r].size()) + " tokens with images expanded) fills the model's " +
                        std::to_string(cap) + "-token context");
    }
    std::vector<bool> done(rows.size(), false);
    std::vector<int32_t> last(rows.size());
    std::vector<float> logits(static_cast<size_t>(V));
    auto t1 = std::chrono::steady_clock::now();
    for (int step = 0;; ++step) {
        std::vector<SeqChunk> chunks;
        std::vector<size_t> who;
        for (size_t r = 0; r < rows.size(); ++r) {
            if (done[r]) continue;
            SeqChunk c;
            c.slot = int(r);
            if (step == 0) {
                c.start = 0;
                c.embeds = embeds[r];
            } else {
                c.start = cache.length(int(r));
                c.tokens = std::span<const int32_t>(&last[r], 1);
            }
            chunks.push_back(c);
            who.push_back(r);
        }
        if (chunks.empty()) break;
        StepOutputs out = lm->forward(chunks, cache, true);
        std::vector<float> all = to_host(b, out.logits);
        if (step == 0) {
            double pre = since(t1);
            for (auto& r : res) r.prefill_seconds = pre;
            t1 = std::chrono::steady_clock::now();
        }
        for (size_t i = 0; i < who.size(); ++i) {
            const size_t r = who[i];
            std::copy(all.begin() + out.first[i] * V, all.begin() + (out.first[i] + 1) * V, logits.begin());
            if (dump) step_logits[r].insert(step_logits[r].end(), logits.begin(), logits.end());
            int32_t tkn = sample_token(logits, opt.sampling, hist[r], r, uint64_t(step));
            hist[r].add_generated(tkn);
            res[r].tokens.push_back(tkn);
            last[r] = tkn;
            bool stop = std::find(stop_ids.begin(), stop_ids.end(), tkn) != stop_ids.end();
            if (!stop && on_text) {
                std::string piece = text[r].push(tkn);
                if (!piece.empty()) on_text(r, piece);
            }
            if (stop) res[r].finish_reason = "stop";
            else if (int(res[r].tokens.size()) >= opt.max_new_tokens) res[r].finish_reason = "length";
            else if (cache.length(int(r)) >= cap) res[r].finish_reason = "context";
            if (!res[r].finish_reason.empty()) done[r] = true;
        }
    }
    double decode_s = since(t1);
    for (size_t r = 0; r < rows.size(); ++r) {
        if (on_text) {
            std::string tail = text[r].finish();
            if (!tail.empty()) on_text(r, tail);
        }
        std::vector<int32_t> visible = res[r].tokens;
        if (res[r].finish_reason == "stop") visible.pop_back();
        // Exactly the reference's answer, tokenizer.decode(outputs, skip_special_tokens=True) (Janus
        // inference.py prints it as is): it keeps the leading space of the first token (" The",
        // the prompt ends with "<|Assistant|>:"), tests/tokenizers/test_cleanup.cpp.
        res[r].text = tok.decode(visible, true);
        res[r].vision_seconds = vision_s;
        res[r].decode_seconds = decode_s;
        if (dump) {
            const int64_t n = int64_t(res[r].tokens.size());
            write_npy_f32(dpath("first_logits", r), step_logits[r].data(), {V});
            write_npy_f32(dpath("step_logits", r), step_logits[r].data(), {n, V});
            std::vector<int64_t> t64(res[r].tokens.begin(), res[r].tokens.end());
            write_npy_i64(dpath("tokens", r), t64.data(), {n});
        }
    }
    return res;
}

std::vector<UnderstandResult> Understander::ask_batch(const std::vector<std::vector<RgbImage>>& images,
                                                      const std::string& question,
                                                      const std::function<void(size_t, const std::string&)>& on_text) {
    // Rows run in groups of at most kMaxRows so the KV caches stay bounded (each row holds prompt +
    // max_new_tokens positions); with --dump everything is one group so the files cover all images.
    constexpr size_t kMaxRows = 8;
    const size_t group = impl_->opt.dump_dir.empty() ? kMaxRows : images.size();
    std::vector<UnderstandResult> out;
    for (size_t first = 0; first < images.size(); first += group) {
        std::vector<UnderstandRow> rows;
        for (size_t i = first; i < std::min(images.size(), first + group); ++i) rows.push_back({images[i], question});
        std::function<void(size_t, const std::string&)> cb;
        if (on_text) cb = [&](size_t r, const std::string& s) { on_text(first + r, s); };
        for (auto& r : impl_->run(rows, cb)) out.push_back(std::move(r));
    }
    return out;
}

}  // namespace janus
