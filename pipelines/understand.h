// Internal side of the understanding pipeline (public API: include/janus/understand.h): batched
// answers for several (images, question) rows sharing one forward per step, and the image-embedding
// step reused by tests and `janus bench`.
//
// Shapes: pixels host f32 [n, 3, S, S]; SigLIP features [n, N, W]; aligner output [n·N, H];
// per row: ids [T] (images expanded), inputs_embeds [T, H] f32 on the backend; logits [V].
#pragma once
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "janus/chat_format.h"
#include "janus/understand.h"
#include "kernels/backend.h"

namespace janus {

struct ModelBundle;

// The image side of understanding, shared by the Understander and ChatSession (images in chat):
// SigLIP + aligner of a Janus checkpoint, the image token ids, prompt encoding with placeholders,
// and the splice of image embeddings into token embeddings (facts §4.2).
class ImageEmbedder {
public:
    // Throws janus::Error when the bundle has no vision tower (not a Janus checkpoint) or its parts
    // do not fit together. `bundle` must outlive the embedder.
    static std::unique_ptr<ImageEmbedder> load(const ModelBundle& bundle, Backend& backend);
    ~ImageEmbedder();

    struct Output {
        std::vector<float> pixels;    // host [n, 3, S, S] after preprocessing
        Tensor features;              // [n, N, W] SigLIP output (backend)
        Tensor aligned;               // [n·N, H] aligner output (backend)
    };
    // Preprocess + SigLIP + aligner for n >= 1 images. Malformed images throw janus::Error.
    Output embed(std::span<const RgbImage> images);

    int64_t image_size() const;       // S (384)
    int64_t tokens_per_image() const; // N (576)
    int32_t image_id() const { return image_id_; }
    int32_t boi() const { return boi_; }
    int32_t eoi() const { return eoi_; }
    std::string summary() const;      // "SigLIP W×depth @S → N tokens/image"

    // `format` rendering of msgs tokenised, "<image_placeholder>" → image_id (also for tokenizers
    // that lack the marker, facts §3.3); NOT yet expanded.
    std::vector<int32_t> encode_prompt(const ChatFormat& format, const std::vector<ChatMessage>& msgs,
                                       bool add_generation_prompt) const;
    // Each image id → boi, N × image, eoi.
    std::vector<int32_t> expand(const std::vector<int32_t>& ids) const;
    // Writes image embeddings into `embeds` [T − from, H] = token embeddings of positions from .. T−1
    // of the expanded `ids` [T]: the k-th run of N image ids (counted from position 0) takes
    // images[k] [N, H]. Image runs that start before `from` contribute only their rows >= from.
    // Throws janus::Error when ids hold a different number of image runs than images.size().
    void splice(Backend& backend, const Tensor& embeds, const std::vector<int32_t>& ids, int64_t from,
                std::span<const Tensor> images) const;

private:
    struct Parts;
    ImageEmbedder() = default;
    std::unique_ptr<Parts> parts_;
    const ModelBundle* bundle_ = nullptr;
    int32_t image_id_ = -1, boi_ = -1, eoi_ = -1;
    bool placeholder_added_ = false;
};

struct UnderstandRow {
    std::vector<RgbImage> images;
    std::string question;
};

// Prompt text for one row (before tokenisation): the user content with one "<image_placeholder>\n"
// per image in front of the question, unless the question already contains exactly n placeholders.
// Throws janus::Error when it contains some other number of them.
std::string understand_user_content(const std::string& question, size_t n_images);

// Each `image` id → boi, n × image, eoi (facts §4.2).
std::vector<int32_t> expand_image_tokens(const std::vector<int32_t>& ids, int32_t image, int32_t boi, int32_t eoi,
                                         int n);

}  // namespace janus
