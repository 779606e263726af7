// ImageEmbedder (pipelines/understand.h): the image side of Janus understanding shared by the
// Understander and ChatSession — preprocessing (facts §4.1), SigLIP + aligner, prompt encoding with
// "<image_placeholder>", expansion to BOI + N image ids + EOI and the embedding splice (facts §4.2).
//
// Shapes: pixels host f32 [n, 3, S, S]; SigLIP features [n, N, W]; aligner output [n·N, H];
// splice target [T − from, H] for the expanded ids [T]; each image's rows [N, H].
#include <algorithm>

#include "janus/tokenizer.h"
#include "pipelines/model_bundle.h"
#include "pipelines/understand.h"
#include "vision/mlp_projector.h"
#include "vision/name_map.h"
#include "vision/preprocess.h"
#include "vision/siglip.h"
#include "vision/vision_config.h"

namespace janus {

namespace {
constexpr const char* kPlaceholder = "<image_placeholder>";
}

struct ImageEmbedder::Parts {
    Backend* be = nullptr;
    std::unique_ptr<vision::WeightSource> ws;
    std::optional<vision::SiglipEncoder> siglip;
    vision::MlpProjector aligner;
};

ImageEmbedder::~ImageEmbedder() = default;

std::unique_ptr<ImageEmbedder> ImageEmbedder::load(const ModelBundle& bundle, Backend& backend) {
    if (!bundle.is_janus())
        throw Error(bundle.dir + ": this is a " + std::string(model_family_name(bundle.family)) +
                    " text model with no image encoder; images need a Janus / Janus-Pro checkpoint");
    if (!bundle.tokenizer) throw Error(bundle.dir + ": images need the checkpoint's tokenizer.json");
    std::unique_ptr<ImageEmbedder> e(new ImageEmbedder());
    e->bundle_ = &bundle;
    e->parts_ = std::make_unique<Parts>();
    Parts& p = *e->parts_;
    p.be = &backend;
    p.ws = std::make_unique<vision::WeightSource>(bundle.lookup(), backend, bundle.dir);
    vision::SiglipConfig sc = vision::siglip_config_from_json(bundle.config, bundle.dir + "/config.json");
    p.siglip = vision::SiglipEncoder::load(*p.ws, sc);
    p.aligner = vision::MlpProjector::load(*p.ws, "aligner");
    if (p.aligner.in_dim() != sc.width || p.aligner.out_dim() != bundle.lm.hidden)
        throw Error(bundle.dir + ": aligner maps " + std::to_string(p.aligner.in_dim()) + " → " +
                    std::to_string(p.aligner.out_dim()) + " but SigLIP width is " + std::to_string(sc.width) +
                    " and the LM hidden size " + std::to_string(bundle.lm.hidden));
    const Tokenizer& tok = *bundle.tokenizer;
    // The original Janus-1.3B tokenizer has no <image_placeholder>; the reference processor then adds
    // it at id = tokenizer length (facts §3.3). Its embedding row is overwritten by the splice anyway.
    if (auto id = tok.token_to_id(kPlaceholder)) {
        e->image_id_ = *id;
    } else {
        e->image_id_ = tok.vocab_size();
        e->placeholder_added_ = true;
        if (e->image_id_ >= bundle.lm.vocab_size)
            throw Error(bundle.dir + ": the tokenizer has no <image_placeholder> and no spare embedding row for one");
    }
    e->boi_ = tok.require_id("<begin_of_image>");
    e->eoi_ = tok.require_id("<end_of_image>");
    return e;
}

int64_t ImageEmbedder::image_size() const { return parts_->siglip->config().image_size; }
int64_t ImageEmbedder::tokens_per_image() const { return parts_->siglip->config().num_patches(); }

std::string ImageEmbedder::summary() const {
    const auto& s = parts_->siglip->config();
    return "SigLIP " + std::to_string(s.width) + "×" + std::to_string(s.depth()) + " @" + std::to_string(s.image_size) +
           " → " + std::to_string(s.num_patches()) + " tokens/image";
}

ImageEmbedder::Output ImageEmbedder::embed(std::span<const RgbImage> images) {
    Parts& p = *parts_;
    Backend& b = *p.be;
    const vision::SiglipConfig& sc = p.siglip->config();
    const int64_t S = sc.image_size, N = sc.num_patches(), W = sc.width, H = bundle_->lm.hidden;
    const int64_t n = int64_t(images.size());
    if (n == 0) throw Error("ImageEmbedder::embed: no images");
    Output out;
    out.pixels.resize(size_t(n * 3 * S * S));
    for (int64_t k = 0; k < n; ++k) {
        const RgbImage& img = images[size_t(k)];
        if (img.width <= 0 || img.height <= 0 || img.pixels.size() != size_t(img.width) * img.height * 3)
            throw Error("image " + std::to_string(k) + " is empty or malformed");
        std::vector<float> px = vision::preprocess_janus(img, int(S));
        std::copy(px.begin(), px.end(), out.pixels.begin() + k * 3 * S * S);
    }
    out.features = b.alloc(DType::f32, {n, N, W});
    p.siglip->forward(out.features, out.pixels.data(), int(n));
    out.aligned = b.alloc(DType::f32, {n * N, H});
    p.aligner.forward(b, out.aligned, out.features.reshape({n * N, W}));
    return out;
}

std::vector<int32_t> ImageEmbedder::encode_prompt(const ChatFormat& format, const std::vector<ChatMessage>& msgs,
                                                  bool add_generation_prompt) const {
    const Tokenizer& tok = *bundle_->tokenizer;
    if (!placeholder_added_) return format.encode(tok, msgs, add_generation_prompt);
    // Special added tokens split the text before the pre-tokenizer, so encoding the pieces around the
    // marker separately is what a tokenizer that knew the marker would do.
    std::string text = format.render(msgs, add_generation_prompt);
    std::vector<int32_t> ids;
    size_t from = 0;
    for (bool first = true;; first = false) {
        size_t at = text.find(kPlaceholder, from);
        std::string piece = text.substr(from, at == std::string::npos ? std::string::npos : at - from);
        std::vector<int32_t> part = tok.encode(piece, first);
        ids.insert(ids.end(), part.begin(), part.end());
        if (at == std::string::npos) break;
        ids.push_back(image_id_);
        from = at + std::string(kPlaceholder).size();
    }
    return ids;
}

std::vector<int32_t> ImageEmbedder::expand(const std::vector<int32_t>& ids) const {
    return expand_image_tokens(ids, image_id_, boi_, eoi_, int(tokens_per_image()));
}

void ImageEmbedder::splice(Backend& b, const Tensor& embeds, const std::vector<int32_t>& ids, int64_t from,
                           std::span<const Tensor> images) const {
    const int64_t T = int64_t(ids.size()), N = tokens_per_image();
    if (embeds.dim(0) != T - from)
        throw Error("ImageEmbedder::splice: embeddings have " + std::to_string(embeds.dim(0)) + " rows for positions " +
                    std::to_string(from) + ".." + std::to_string(T));
    size_t k = 0;
    for (int64_t p = 0; p < T; ++p) {
        if (ids[size_t(p)] != image_id_) continue;
        if (k >= images.size() || p + N > T)
            throw Error("the prompt holds more image placeholders than the " + std::to_string(images.size()) +
                        " images given");
        const int64_t lo = std::max(p, from), hi = p + N;
        if (lo < hi) b.copy(embeds.rows(lo - from, hi - from), images[k].rows(lo - p, hi - p));
        p += N - 1;
        ++k;
    }
    if (k != images.size())
        throw Error("the prompt holds " + std::to_string(k) + " image placeholders but " +
                    std::to_string(images.size()) + " images were given");
}

}  // namespace janus
