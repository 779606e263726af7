// Internal side of the understanding pipeline (public API: include/janus/understand.h): batched
// answers for several (images, question) rows sharing one forward per step, and the image-embedding
// step reused by tests and `janus bench`.
//
// Shapes: pixels host f32 [n, 3, S, S]; SigLIP features [n, N, W]; aligner output [n·N, H];
// per row: ids [T] (images expanded), inputs_embeds [T, H] f32 on the backend; logits [V].
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "janus/understand.h"

namespace janus {

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
