// read_image / decode_image: file bytes → RgbImage [H, W, 3] uint8.
// Order of checks: file size, header probe (format + stored dims), 0×0 and pixel limit, completeness
// (JPEG end-of-image marker after the scan, PNG IEND chunk), then OpenCV decode with IMREAD_COLOR
// (8-bit BGR: alpha dropped, 16-bit reduced, palette expanded, CMYK converted, EXIF orientation applied
// unless disabled), then BGR → RGB. Known difference from Pillow: RGBA TIFFs come back with colour
// premultiplied by alpha (OpenCV reads them through libtiff's RGBA interface).
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <fstream>
#include <mutex>

#include "janus/error.h"
#include "vision/image_io.h"

namespace janus {

namespace {

using vision::ImageFormat;

void quiet_opencv() {
    static std::once_flag once;
    std::call_once(once, [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
}

// Offset just past the JPEG SOS segment header, or 0 when there is none.
size_t jpeg_scan_start(const uint8_t* p, size_t n) {
    size_t o = 2;
    while (o + 4 <= n) {
        if (p[o] != 0xFF) return 0;
        while (o < n && p[o] == 0xFF) ++o;
        if (o >= n) return 0;
        uint8_t m = p[o++];
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;
        if (o + 2 > n) return 0;
        size_t len = (size_t(p[o]) << 8) | p[o + 1];
        if (m == 0xDA) return o + len <= n ? o + len : 0;
        o += len;
    }
    return 0;
}

void check_complete(const uint8_t* p, size_t n, ImageFormat f, const std::string& name) {
    const char* hint = "; the file is incomplete (interrupted download or copy?) — re-download or re-export it";
    if (f == ImageFormat::jpeg) {
        size_t scan = jpeg_scan_start(p, n);
        bool eoi = false;
        for (size_t i = n; scan && i >= scan + 2; --i)
            if (p[i - 2] == 0xFF && p[i - 1] == 0xD9) { eoi = true; break; }
        if (!scan || !eoi) throw file_error(name, std::string("truncated JPEG: no end-of-image marker after the image data") + hint);
    } else if (f == ImageFormat::png) {
        // IEND must be present; allow a little trailing junk after it.
        size_t from = n > 4096 ? n - 4096 : 0;
        bool iend = false;
        for (size_t i = from; i + 4 <= n; ++i)
            if (std::memcmp(p + i, "IEND", 4) == 0) { iend = true; break; }
        if (!iend) throw file_error(name, std::string("truncated PNG: no IEND chunk at the end") + hint);
    }
}

}  // namespace

RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name, const ImageReadOptions& options) {
    if (int64_t(size) > vision::kMaxImageFileBytes)
        throw file_error(name, "file is " + std::to_string(size) + " bytes; images over 1 GiB are refused");
    vision::ImageHeader h = vision::probe_image(data, size, name);
    const char* fmt = vision::image_format_name(h.format);
    if (h.width <= 0 || h.height <= 0)
        throw file_error(name, std::string(fmt) + " header says the image is " + std::to_string(h.width) + "x" +
                                   std::to_string(h.height) + " pixels; an image needs at least 1x1");
    int64_t limit = vision::max_image_pixels(options.max_pixels);
    if (h.width > (int64_t(1) << 20) || h.height > (int64_t(1) << 20) || h.width * h.height > limit)
        throw file_error(name, std::string(fmt) + " image is " + std::to_string(h.width) + "x" +
                                   std::to_string(h.height) + " = " + std::to_string(h.width * h.height) +
                                   " pixels, over the limit of " + std::to_string(limit) +
                                   " (set JANUS_MAX_IMAGE_PIXELS to raise it, or downscale the image first)");
    check_complete(data, size, h.format, name);

    quiet_opencv();
    int flags = cv::IMREAD_COLOR;
    if (!options.apply_exif_orientation) flags |= cv::IMREAD_IGNORE_ORIENTATION;
    cv::Mat bgr;
    try {
        cv::Mat buf(1, int(size), CV_8UC1, const_cast<uint8_t*>(data));
        bgr = cv::imdecode(buf, flags);
    } catch (const cv::Exception& e) {
        throw file_error(name, std::string("cannot decode ") + fmt + " image: " + e.what());
    }
    if (bgr.empty() || bgr.rows <= 0 || bgr.cols <= 0)
        throw file_error(name, std::string("cannot decode ") + fmt +
                                   " image: the data is corrupt, truncated or uses an unsupported variant "
                                   "(try re-saving it as an 8-bit PNG)");
    if (bgr.type() != CV_8UC3) throw file_error(name, "decoder returned an unexpected pixel type");
    RgbImage img;
    img.width = bgr.cols;
    img.height = bgr.rows;
    img.pixels.resize(size_t(img.width) * img.height * 3);
    for (int y = 0; y < img.height; ++y) {
        const uint8_t* s = bgr.ptr<uint8_t>(y);
        uint8_t* d = img.pixels.data() + size_t(y) * img.width * 3;
        for (int x = 0; x < img.width; ++x) {
            d[3 * x] = s[3 * x + 2];
            d[3 * x + 1] = s[3 * x + 1];
            d[3 * x + 2] = s[3 * x];
        }
    }
    return img;
}

RgbImage read_image(const std::string& path, const ImageReadOptions& options) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw file_error(path, "cannot open image file (does it exist and is it readable?)");
    std::streamoff n = f.tellg();
    if (n < 0) throw file_error(path, "cannot read image file (is it a directory?)");
    if (n > vision::kMaxImageFileBytes)
        throw file_error(path, "file is " + std::to_string(n) + " bytes; images over 1 GiB are refused");
    std::vector<uint8_t> bytes(static_cast<size_t>(n));
    f.seekg(0);
    if (n > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), n))
        throw file_error(path, "read error while loading the image file");
    return decode_image(bytes.data(), bytes.size(), path, options);
}

}  // namespace janus
