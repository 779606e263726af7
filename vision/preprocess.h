// Janus image preprocessing (facts §4.1): RGB uint8 [H, W, 3] → resize so the long side is 384 with
// Pillow's antialiased BICUBIC → pad to 384×384 with (127,127,127) centred → x/255 → (x − 0.5)/0.5 →
// f32 CHW [3, 384, 384] in [−1, 1].
//
// resize_bicubic_pillow is a port of the algorithm of Pillow's Resample.c (facts S7): cubic kernel
// with a = −0.5, support 2 scaled by the downscale factor, coefficients normalised to sum 1 in double
// then stored as 22-bit fixed point (round half away from zero), horizontal pass first into an 8-bit
// intermediate, then the vertical pass; each pass rounds half up and clamps to [0, 255]. A pass whose
// size does not change is skipped, as in Pillow.
#pragma once
#include <utility>
#include <vector>

#include "janus/vision.h"

namespace janus::vision {

constexpr int kJanusImageSize = 384;
constexpr int kJanusMinSize = 14;
constexpr uint8_t kJanusBackground = 127;

RgbImage resize_bicubic_pillow(const RgbImage& in, int out_w, int out_h);

// (new_w, new_h) for the aspect-preserving resize: long side → image_size, each side ≥ min_size,
// float divide then truncation, exactly as the reference's image processor.
std::pair<int, int> janus_resize_dims(int w, int h, int image_size = kJanusImageSize, int min_size = kJanusMinSize);

// Paste `in` centred on a size×size canvas of `background` (offset floor((size − side)/2) per axis).
RgbImage pad_to_square(const RgbImage& in, int size, uint8_t background = kJanusBackground);

// Resize + pad: the uint8 image the model sees, [size, size, 3].
RgbImage janus_square_image(const RgbImage& in, int image_size = kJanusImageSize);

// uint8 HWC → f32 CHW [3, S, S]: float32(u8 · (1/255) in double), then (x − 0.5) / 0.5 in float.
void to_pixel_values(const RgbImage& square, float* out_chw);

// Everything: f32 CHW [3, image_size, image_size].
std::vector<float> preprocess_janus(const RgbImage& in, int image_size = kJanusImageSize);

}  // namespace janus::vision
