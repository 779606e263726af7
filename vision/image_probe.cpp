// Image header probe: identify PNG / JPEG / BMP / WebP / TIFF from magic bytes and read the stored
// width × height without decoding, so the pixel limit is enforced before any allocation.
// Every read is bounds-checked; a header cut short is reported as truncated.
#include <cstdlib>
#include <cstring>
#include <string>

#include "janus/error.h"
#include "vision/image_io.h"

namespace janus::vision {

const char* image_format_name(ImageFormat f) {
    switch (f) {
        case ImageFormat::png: return "PNG";
        case ImageFormat::jpeg: return "JPEG";
        case ImageFormat::bmp: return "BMP";
        case ImageFormat::webp: return "WebP";
        case ImageFormat::tiff: return "TIFF";
        default: return "unknown";
    }
}

namespace {

struct Reader {
    const uint8_t* p;
    size_t n;
    const std::string& name;
    const char* fmt;
    void need(size_t off, size_t len) const {
        if (off > n || len > n - off)
            throw file_error(name, std::string("truncated ") + fmt + " header (file is " + std::to_string(n) +
                                       " bytes); the file is incomplete or corrupt — re-download or re-export it");
    }
    uint32_t be16(size_t o) const { need(o, 2); return (uint32_t(p[o]) << 8) | p[o + 1]; }
    uint32_t le16(size_t o) const { need(o, 2); return uint32_t(p[o]) | (uint32_t(p[o + 1]) << 8); }
    uint32_t be32(size_t o) const { need(o, 4); return (be16(o) << 16) | be16(o + 2); }
    uint32_t le32(size_t o) const { need(o, 4); return le16(o) | (le16(o + 2) << 16); }
    uint8_t u8(size_t o) const { need(o, 1); return p[o]; }
};

[[noreturn]] void corrupt(const std::string& name, const char* fmt, const std::string& what) {
    throw file_error(name, std::string("corrupt ") + fmt + " header: " + what);
}

ImageHeader probe_png(const Reader& r) {
    // 8-byte signature, then the IHDR chunk: length, "IHDR", width, height (big-endian).
    r.need(0, 24);
    if (std::memcmp(r.p + 12, "IHDR", 4) != 0) corrupt(r.name, "PNG", "first chunk is not IHDR");
    return {ImageFormat::png, r.be32(16), r.be32(20)};
}

ImageHeader probe_jpeg(const Reader& r) {
    // Walk the marker segments up to the first start-of-frame (SOFn: C0-CF except C4, C8, CC).
    size_t o = 2;
    for (;;) {
        if (r.u8(o) != 0xFF) corrupt(r.name, "JPEG", "marker expected at byte " + std::to_string(o));
        while (r.u8(o) == 0xFF) ++o;  // fill bytes
        uint8_t m = r.u8(o++);
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length field
        if (m == 0xD9 || m == 0xDA) corrupt(r.name, "JPEG", "no frame header before the image data");
        uint32_t len = r.be16(o);
        if (len < 2) corrupt(r.name, "JPEG", "segment length < 2");
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            // length(2) precision(1) height(2) width(2)
            return {ImageFormat::jpeg, r.be16(o + 5), r.be16(o + 3)};
        }
        o += len;
    }
}

ImageHeader probe_bmp(const Reader& r) {
    uint32_t dib = r.le32(14);
    if (dib == 12) return {ImageFormat::bmp, r.le16(18), r.le16(20)};  // OS/2 BITMAPCOREHEADER
    if (dib < 40) corrupt(r.name, "BMP", "DIB header size " + std::to_string(dib));
    int32_t w = int32_t(r.le32(18)), h = int32_t(r.le32(22));
    if (w < 0) corrupt(r.name, "BMP", "negative width");
    return {ImageFormat::bmp, w, std::llabs(int64_t(h))};  // negative height = top-down rows
}

ImageHeader probe_webp(const Reader& r) {
    r.need(0, 30);
    const uint8_t* c = r.p + 12;
    if (std::memcmp(c, "VP8X", 4) == 0) {
        uint32_t w = uint32_t(r.u8(24)) | (uint32_t(r.u8(25)) << 8) | (uint32_t(r.u8(26)) << 16);
        uint32_t h = uint32_t(r.u8(27)) | (uint32_t(r.u8(28)) << 8) | (uint32_t(r.u8(29)) << 16);
        return {ImageFormat::webp, int64_t(w) + 1, int64_t(h) + 1};
    }
    if (std::memcmp(c, "VP8L", 4) == 0) {
        if (r.u8(20) != 0x2F) corrupt(r.name, "WebP", "bad VP8L signature");
        uint32_t bits = r.le32(21);
        return {ImageFormat::webp, int64_t(bits & 0x3FFF) + 1, int64_t((bits >> 14) & 0x3FFF) + 1};
    }
    if (std::memcmp(c, "VP8 ", 4) == 0) {
        if (r.u8(23) != 0x9D || r.u8(24) != 0x01 || r.u8(25) != 0x2A)
            corrupt(r.name, "WebP", "bad VP8 start code");
        return {ImageFormat::webp, r.le16(26) & 0x3FFF, r.le16(28) & 0x3FFF};
    }
    corrupt(r.name, "WebP", "unknown first chunk");
}

ImageHeader probe_tiff(const Reader& r) {
    bool le = r.p[0] == 'I';
    auto u16 = [&](size_t o) { return le ? r.le16(o) : r.be16(o); };
    auto u32 = [&](size_t o) { return le ? r.le32(o) : r.be32(o); };
    if (u16(2) == 43) throw file_error(r.name, "BigTIFF files are not supported; save it as a classic TIFF or PNG");
    size_t ifd = u32(4);
    uint32_t count = u16(ifd);
    int64_t w = -1, h = -1;
    for (uint32_t i = 0; i < count; ++i) {
        size_t e = ifd + 2 + size_t(i) * 12;
        uint32_t tag = u16(e), type = u16(e + 2);
        if (tag != 256 && tag != 257) continue;
        int64_t v = type == 3 ? int64_t(u16(e + 8)) : type == 4 ? int64_t(u32(e + 8)) : -1;
        if (v < 0) corrupt(r.name, "TIFF", "image size tag has type " + std::to_string(type));
        (tag == 256 ? w : h) = v;
    }
    if (w < 0 || h < 0) corrupt(r.name, "TIFF", "first image directory has no ImageWidth/ImageLength");
    return {ImageFormat::tiff, w, h};
}

}  // namespace

ImageHeader probe_image(const uint8_t* data, size_t size, const std::string& name) {
    if (size == 0) throw file_error(name, "empty file (0 bytes) — not an image");
    auto starts = [&](const char* magic, size_t len) { return size >= len && std::memcmp(data, magic, len) == 0; };
    if (starts("\x89PNG\r\n\x1a\n", 8)) return probe_png({data, size, name, "PNG"});
    if (starts("\xFF\xD8\xFF", 3)) return probe_jpeg({data, size, name, "JPEG"});
    if (starts("BM", 2)) return probe_bmp({data, size, name, "BMP"});
    if (starts("RIFF", 4) && size >= 12 && std::memcmp(data + 8, "WEBP", 4) == 0)
        return probe_webp({data, size, name, "WebP"});
    if (starts("II*\0", 4) || starts("MM\0*", 4) || starts("II+\0", 4) || starts("MM\0+", 4))
        return probe_tiff({data, size, name, "TIFF"});
    std::string what = "unsupported image format";
    if (starts("GIF8", 4)) what = "GIF images are not supported";
    else if (size < 8) what = "file too short to be an image (" + std::to_string(size) + " bytes)";
    throw file_error(name, what + "; supported formats: PNG, JPEG, BMP, WebP, TIFF (convert the file, "
                                  "e.g. to PNG, and try again)");
}

int64_t max_image_pixels(int64_t requested) {
    if (requested > 0) return requested;
    if (const char* env = std::getenv("JANUS_MAX_IMAGE_PIXELS")) {
        char* end = nullptr;
        long long v = std::strtoll(env, &end, 10);
        if (end && *end == '\0' && v > 0) return v;
        throw Error(std::string("JANUS_MAX_IMAGE_PIXELS='") + env + "' is not a positive integer");
    }
    return kDefaultMaxImagePixels;
}

}  // namespace janus::vision
