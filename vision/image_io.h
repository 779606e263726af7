// Image file reading: PNG, JPEG, BMP, WebP and TIFF bytes → RGB uint8 [H, W, 3] (row-major, R first).
//
// Decoding goes through OpenCV imgcodecs, but only after our own header probe (image_probe.cpp) has
// identified the format and read the dimensions, so that a file announcing 100000×100000 pixels is
// refused before any pixel buffer is allocated. Handles 8/16-bit, gray, gray+alpha, RGB, RGBA, palette,
// CMYK JPEG and EXIF orientation. Alpha is dropped without compositing (what Pillow's convert("RGB")
// in the Janus reference does, facts §4.1 step 1); 16-bit samples keep their high byte.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "janus/vision.h"

namespace janus::vision {

// Default limit on width × height, checked from the header before decoding (64 megapixels: an
// 8000×8000 photo passes; the decoded RGB buffer is then at most 192 MiB). The environment variable
// JANUS_MAX_IMAGE_PIXELS overrides it for the whole process; ImageReadOptions overrides it per call.
constexpr int64_t kDefaultMaxImagePixels = 64'000'000;
// Files above this size are refused before they are read (1 GiB).
constexpr int64_t kMaxImageFileBytes = int64_t(1) << 30;

enum class ImageFormat { unknown, png, jpeg, bmp, webp, tiff };
const char* image_format_name(ImageFormat f);

struct ImageHeader {
    ImageFormat format = ImageFormat::unknown;
    int64_t width = 0, height = 0;  // as stored (before EXIF rotation)
};

// Identify the format and read the stored dimensions from the first bytes of a file. Throws
// janus::Error naming `name` for unknown formats and headers that are cut short or malformed.
ImageHeader probe_image(const uint8_t* data, size_t size, const std::string& name);

// The pixel limit in effect: options value if > 0, else JANUS_MAX_IMAGE_PIXELS, else the default.
int64_t max_image_pixels(int64_t requested = 0);

}  // namespace janus::vision
