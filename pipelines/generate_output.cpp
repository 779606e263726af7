// Writing generated images: PNG text chunks with the generation parameters, atomic PNG writes
// (temp file + rename, so a crash never leaves a partial image under its final name) and the
// contact sheet (all images of a request in one grid PNG). Images are RgbImage [S, S, 3] uint8.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "janus/generate.h"
#include "janus/janus.h"

namespace janus {

namespace {

std::string num(double v) {
    std::ostringstream o;
    o << v;
    return o.str();
}

}  // namespace

TextChunks image_text_chunks(const ImageRequest& r, const GeneratedImage& g, const std::string& model) {
    TextChunks t;
    t.emplace_back("prompt", r.prompt);
    if (r.negative_prompt) t.emplace_back("negative_prompt", *r.negative_prompt);
    t.emplace_back("seed", std::to_string(g.seed));
    t.emplace_back("request_seed", std::to_string(r.seed));
    t.emplace_back("image_index", std::to_string(g.index));
    t.emplace_back("cfg", num(r.cfg));
    t.emplace_back("temperature", num(r.greedy ? 0.0 : r.temperature));
    if (r.top_k > 0) t.emplace_back("top_k", std::to_string(r.top_k));
    if (r.top_p < 1.0f) t.emplace_back("top_p", num(r.top_p));
    if (r.greedy) t.emplace_back("greedy", "true");
    t.emplace_back("model", model);
    t.emplace_back("version", version());
    t.emplace_back("Software", std::string("janus.cpp ") + version());
    return t;
}

void write_png_atomic(const std::string& path, const RgbImage& image, const TextChunks& text) {
    namespace fs = std::filesystem;
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    fs::path dir = fs::path(path).parent_path();
    if (!dir.empty()) fs::create_directories(dir);
    try {
        write_png(tmp, image, text);
        fs::rename(tmp, path);
    } catch (const fs::filesystem_error& e) {
        std::error_code ec;
        fs::remove(tmp, ec);
        throw Error(path + ": cannot write the image (" + e.code().message() + ")");
    } catch (...) {
        std::error_code ec;
        fs::remove(tmp, ec);
        throw;
    }
}

namespace {
bool is_png_name(const std::string& o) {
    return o.size() > 4 && (o.compare(o.size() - 4, 4, ".png") == 0 || o.compare(o.size() - 4, 4, ".PNG") == 0);
}
}  // namespace

std::string output_image_path(const std::string& output, uint64_t seed, int k, int n) {
    namespace fs = std::filesystem;
    if (is_png_name(output)) {
        if (n == 1) return output;
        return output.substr(0, output.size() - 4) + "-" + std::to_string(k) + ".png";
    }
    return (fs::path(output.empty() ? "." : output) / ("janus-" + std::to_string(seed) + "-" + std::to_string(k) + ".png"))
        .string();
}

std::string output_sheet_path(const std::string& output, uint64_t seed) {
    namespace fs = std::filesystem;
    if (is_png_name(output)) return output.substr(0, output.size() - 4) + "-sheet.png";
    return (fs::path(output.empty() ? "." : output) / ("janus-" + std::to_string(seed) + "-sheet.png")).string();
}

RgbImage contact_sheet(const std::vector<RgbImage>& images) {
    if (images.empty()) throw Error("contact sheet: no images");
    const int gap = 4;
    const int n = int(images.size());
    const int cols = int(std::ceil(std::sqrt(double(n))));
    const int rows = (n + cols - 1) / cols;
    int cw = 0, ch = 0;
    for (const auto& im : images) {
        cw = std::max(cw, im.width);
        ch = std::max(ch, im.height);
    }
    RgbImage s;
    s.width = cols * cw + (cols + 1) * gap;
    s.height = rows * ch + (rows + 1) * gap;
    s.pixels.assign(size_t(s.width) * size_t(s.height) * 3, 255);
    for (int i = 0; i < n; ++i) {
        const RgbImage& im = images[size_t(i)];
        const int x0 = gap + (i % cols) * (cw + gap), y0 = gap + (i / cols) * (ch + gap);
        for (int y = 0; y < im.height; ++y)
            std::copy_n(im.pixels.begin() + size_t(y) * size_t(im.width) * 3, size_t(im.width) * 3,
                        s.pixels.begin() + (size_t(y0 + y) * size_t(s.width) + size_t(x0)) * 3);
    }
    return s;
}

}  // namespace janus
