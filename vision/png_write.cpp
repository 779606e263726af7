// PNG writing (8-bit RGB, RgbImage [H, W, 3]) with tEXt / iTXt metadata chunks, and reading those
// chunks back, via libpng. The generation pipeline stores prompt, seed, cfg weight, model... here.
// libpng reports errors through longjmp; every libpng call sits behind setjmp and errors become
// janus::Error naming the file.
#include <png.h>

#include <cstdio>
#include <memory>
#include <string>

#include "janus/error.h"
#include "janus/vision.h"

namespace janus {

namespace {

struct FileCloser {
    void operator()(FILE* f) const { if (f) std::fclose(f); }
};

bool is_ascii(const std::string& s) {
    for (unsigned char c : s)
        if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t')) return false;
    return true;
}

void check_keyword(const std::string& k, const std::string& path) {
    bool ok = !k.empty() && k.size() <= 79 && k.front() != ' ' && k.back() != ' ';
    for (unsigned char c : k) ok = ok && ((c >= 32 && c <= 126) || c >= 161);
    if (!ok)
        throw Error(path + ": PNG text keyword '" + k + "' is invalid (1-79 printable Latin-1 characters, "
                           "no leading/trailing space)");
}

void png_error_fn(png_structp png, png_const_charp msg) {
    auto* err = static_cast<std::string*>(png_get_error_ptr(png));
    if (err) *err = msg;
    png_longjmp(png, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}

// The libpng calls of write_png, with no C++ objects alive across setjmp. Returns false on error.
bool write_png_raw(FILE* f, int width, int height, png_bytep* rows, png_text* text, int ntext, std::string* err) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, png_error_fn, png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        *err = "libpng could not be initialised (out of memory?)";
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (ntext > 0) png_set_text(png, info, text, ntext);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return true;
}

// The libpng calls of read_png_text: reads through the image and hands each text chunk to `sink`.
bool read_png_text_raw(FILE* f, void (*sink)(void*, png_textp), void* ctx, std::string* err) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, err, png_error_fn, png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    png_infop end = png ? png_create_info_struct(png) : nullptr;
    png_bytep volatile row = nullptr;
    if (!png || !info || !end) {
        png_destroy_read_struct(&png, &info, &end);
        *err = "libpng could not be initialised";
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        if (row) png_free(png, row);
        png_destroy_read_struct(&png, &info, &end);
        return false;
    }
    png_init_io(png, f);
    png_read_info(png, info);
    // Text after the image data lands in `end`; read (and discard) the rows to get there.
    png_set_strip_16(png);
    png_set_palette_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    png_uint_32 h = png_get_image_height(png, info);
    row = static_cast<png_bytep>(png_malloc(png, png_get_rowbytes(png, info)));
    for (int p = 0; p < passes; ++p)
        for (png_uint_32 y = 0; y < h; ++y) png_read_row(png, row, nullptr);
    png_read_end(png, end);
    for (png_infop src : {info, end}) {
        png_textp t = nullptr;
        int n = png_get_text(png, src, &t, nullptr);
        for (int i = 0; i < n; ++i) sink(ctx, &t[i]);
    }
    png_free(png, row);
    png_destroy_read_struct(&png, &info, &end);
    return true;
}

}  // namespace

void write_png(const std::string& path, const RgbImage& img, const TextChunks& text) {
    if (img.width <= 0 || img.height <= 0 || img.pixels.size() != size_t(img.width) * img.height * 3)
        throw Error(path + ": cannot write PNG: image is empty or its pixel buffer has the wrong size");
    for (auto& [k, v] : text) check_keyword(k, path);
    std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
    if (!f) throw file_error(path, "cannot create PNG file (does the directory exist and is it writable?)");
    std::vector<png_text> chunks(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        png_text& t = chunks[i];
        t.key = const_cast<char*>(text[i].first.c_str());
        t.text = const_cast<char*>(text[i].second.c_str());
        if (is_ascii(text[i].second)) {
            t.compression = PNG_TEXT_COMPRESSION_NONE;
            t.text_length = text[i].second.size();
        } else {
            t.compression = PNG_ITXT_COMPRESSION_NONE;
            t.itxt_length = text[i].second.size();
            t.lang = nullptr;
            t.lang_key = nullptr;
        }
    }
    std::vector<png_bytep> rows(static_cast<size_t>(img.height));
    for (int y = 0; y < img.height; ++y)
        rows[size_t(y)] = const_cast<png_bytep>(img.pixels.data() + size_t(y) * img.width * 3);
    std::string err;
    if (!write_png_raw(f.get(), img.width, img.height, rows.data(), chunks.data(), int(chunks.size()), &err))
        throw file_error(path, "PNG write failed: " + err);
    if (std::fflush(f.get()) != 0 || std::ferror(f.get())) throw file_error(path, "PNG write error (disk full?)");
}

TextChunks read_png_text(const std::string& path) {
    std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) throw file_error(path, "cannot open PNG file");
    TextChunks out;
    std::string err;
    auto sink = [](void* ctx, png_textp t) {
        size_t len = t->compression >= PNG_ITXT_COMPRESSION_NONE ? t->itxt_length : t->text_length;
        static_cast<TextChunks*>(ctx)->emplace_back(t->key, std::string(t->text, len));
    };
    if (!read_png_text_raw(f.get(), sink, &out, &err)) throw file_error(path, "not a readable PNG: " + err);
    return out;
}

}  // namespace janus
