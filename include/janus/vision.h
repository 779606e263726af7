// janus.cpp public API — images and the VQ-16 image tokenizer.
//
// - RgbImage: RGB uint8 pixels [height, width, 3], row-major, R first.
// - read_image / decode_image: PNG, JPEG, BMP, WebP, TIFF (8/16-bit, gray(+alpha), RGB(A), palette,
//   CMYK JPEG, EXIF orientation) with a pixel limit checked before decoding (see docs/understand.md).
// - write_png: 8-bit RGB PNG with tEXt/iTXt metadata chunks (prompt, seed, cfg, ...).
// - Npy: a minimal NumPy .npy array (C order) for --dump files and code grids.
// - VqTokenizer: the Janus VQ-16 model of a checkpoint: image → 24×24 codes and back (docs/vq.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

// A NumPy array file: dtype descr ("<f4", "<i4", "<i8", "|u1", "<f8", "<f2", "|b1"), C-order shape,
// raw little-endian bytes.
struct Npy {
    std::string descr;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
    int64_t numel() const;
    std::vector<float> to_f32() const;    // float or integer arrays, converted
    std::vector<int64_t> to_i64() const;  // integer arrays
};
Npy read_npy(const std::string& path);
void write_npy(const std::string& path, const Npy& array);
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void write_npy_i32(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape);
void write_npy_i64(const std::string& path, const int64_t* data, const std::vector<int64_t>& shape);
void write_npy_u8(const std::string& path, const uint8_t* data, const std::vector<int64_t>& shape);

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

// ---- `janus bench vision` --------------------------------------------------------------------------
// SigLIP encode of one image and VQ-16 decode of one code grid with random weights at the real
// dimensions of a released model, timed on this machine, with FLOP counts, the machine's measured
// GEMM / conv GFLOP/s (same backend, same run), and the same PyTorch modules timed in the same run
// (scripts/reference/bench_vision_torch.py with Debian's torch, same thread count).
struct VisionBenchOptions {
    std::string synthetic = "janus-pro-1b";  // janus-pro-1b | janus-pro-7b
    std::string device = "cpu";
    std::string weights = "f32";             // weight dtype on our side: f32 | bf16 (compute is f32)
    int threads = 0;                         // 0 = physical cores
    int repeats = 3;                         // timed runs (median), after one warm-up
    bool torch = true;                       // also time PyTorch
    int torch_repeats = 1;                   // PyTorch CPU is slow: one timed run, no warm-up
    std::string python = "/usr/bin/python3";
    // BLAS for PyTorch's Linear layers: "openblas" preloads Debian's OpenBLAS when it is installed
    // (Debian torch is built against the generic libblas alternative, which may be the unoptimised
    // reference BLAS); "system" uses whatever the alternative points to.
    std::string torch_blas = "openblas";
    bool progress = true;
};
struct VisionBenchRow {
    std::string name;        // "siglip_encode", "vq_decode"
    double ms = 0;           // median
    double gflop = 0;        // useful FLOPs / 1e9 (GEMM/conv/attention multiply-adds × 2)
    double gflops = 0;       // gflop / s
    double fraction = 0;     // of the measured reference rate (GEMM for SigLIP, conv for VQ)
    double torch_ms = 0;     // 0 when not measured
    double speedup = 0;      // torch_ms / ms
};
struct VisionBenchReport {
    std::string model, device, weights, backend, torch_version, torch_blas, torch_note;
    int threads = 0;
    double gemm_gflops = 0;  // matmul [576, 1024] · [4096, 1024]ᵀ f32, this backend
    double conv_gflops = 0;  // conv2d 3×3 512 → 512 at 24×24 (+ 128 → 128 at 96×96), this backend
    std::string load_before, load_after;  // /proc/loadavg at start and end (other work on the machine)
    std::vector<VisionBenchRow> rows;
    std::string to_text() const;  // Markdown table
    std::string to_json() const;
};
VisionBenchReport run_vision_benchmark(const VisionBenchOptions& options);

}  // namespace janus
