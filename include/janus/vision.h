// janus.cpp public API — images and the VQ-16 image tokenizer.
//
// - RgbImage: RGB uint8 pixels [height, width, 3], row-major, R first.
// - read_image / decode_image: PNG, JPEG, BMP, WebP, TIFF (8/16-bit, gray(+alpha), RGB(A), palette,
//   CMYK JPEG, EXIF orientation) with a pixel limit checked before decoding (see docs/understand.md).
// - write_png: 8-bit RGB PNG with tEXt/iTXt metadata chunks (prompt, seed, cfg, ...).
// - Npy (janus/npy.h, included here): a minimal NumPy .npy array for --dump files and code grids.
// - VqTokenizer: the Janus VQ-16 model of a checkpoint: image → 24×24 codes and back (docs/vq.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "janus/npy.h"

namespace janus {

struct RgbImage {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // [height, width, 3]
};

struct ImageReadOptions {
    int64_t max_pixels = 0;          // 0: JANUS_MAX_IMAGE_PIXELS or the default (64 megapixels)
    bool apply_exif_orientation = true;  // rotate/flip as the EXIF Orientation tag says
};

// Read and decode an image file. Throws janus::Error naming the file on any problem (missing,
// truncated, corrupt, 0×0, over the pixel limit, unsupported format).
RgbImage read_image(const std::string& path, const ImageReadOptions& options = {});
// Same for bytes in memory; `name` is used in error messages.
RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name,
                      const ImageReadOptions& options = {});

using TextChunks = std::vector<std::pair<std::string, std::string>>;  // keyword, UTF-8 text
// Write an 8-bit RGB PNG. Keywords must be 1-79 Latin-1 printable characters; ASCII values are
// stored as tEXt, others as uncompressed iTXt (UTF-8).
void write_png(const std::string& path, const RgbImage& image, const TextChunks& text = {});
// The tEXt/zTXt/iTXt chunks of a PNG file, in file order.
TextChunks read_png_text(const std::string& path);


// The VQ-16 image tokenizer of a Janus checkpoint (gen_vision_model.*, or model.vqmodel.* in the
// transformers layout). Images are 384×384 for the released models (codes 24×24).
class VqTokenizer {
public:
    // model: a checkpoint directory (or weights file). device: "cpu", "cuda", "cuda:N", "auto".
    static std::unique_ptr<VqTokenizer> open(const std::string& model, const std::string& device = "auto");
    virtual ~VqTokenizer() = default;
    virtual int image_size() const = 0;  // pixels per side (384)
    virtual int grid_size() const = 0;   // codes per side (24)
    virtual int codebook_size() const = 0;
    // Resize (long side to image_size, Pillow bicubic), pad with 127 centred, encode, quantise:
    // returns grid_size² code ids in raster order. dump_dir (optional) gets vq_pixel_values.npy and
    // vq_codes.npy.
    virtual std::vector<int32_t> encode(const RgbImage& image, const std::string& dump_dir = "") = 0;
    // Decode grid_size² codes to an image. dump_dir (optional) gets vq_decoded.npy [1,3,S,S] (the
    // decoder output before pixel conversion) and vq_image_uint8.npy [S,S,3].
    virtual RgbImage decode(const std::vector<int32_t>& codes, const std::string& dump_dir = "") = 0;
};


}  // namespace janus
