// Janus preprocessing: Pillow-compatible antialiased bicubic resize, centred padding, [-1, 1] scaling.
// See preprocess.h for the algorithm; shapes: RgbImage [H, W, 3] uint8 → f32 CHW [3, S, S].
#include "vision/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "janus/error.h"

namespace janus::vision {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // 22-bit fixed-point coefficients

double bicubic_kernel(double x) {
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// For each output index: the first input index and the fixed-point weights of its window.
struct Coeffs {
    int ksize = 0;
    std::vector<int> start, count;
    std::vector<int32_t> k;  // [out, ksize]
};

Coeffs make_coeffs(int in_size, int out_size) {
    const double scale = double(in_size) / out_size;
    const double filterscale = std::max(scale, 1.0);
    const double support = 2.0 * filterscale;
    Coeffs c;
    c.ksize = int(std::ceil(support)) * 2 + 1;
    c.start.resize(out_size);
    c.count.resize(out_size);
    c.k.assign(size_t(out_size) * c.ksize, 0);
    std::vector<double> w(c.ksize);
    for (int xx = 0; xx < out_size; ++xx) {
        double center = (xx + 0.5) * scale;
        int xmin = int(center - support + 0.5);  // truncation toward zero, then clamp
        if (xmin < 0) xmin = 0;
        int xmax = int(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        int n = xmax - xmin;
        double sum = 0.0;
        for (int x = 0; x < n; ++x) {
            w[x] = bicubic_kernel((x + xmin - center + 0.5) / filterscale);
            sum += w[x];
        }
        int32_t* k = &c.k[size_t(xx) * c.ksize];
        for (int x = 0; x < n; ++x) {
            double v = sum != 0.0 ? w[x] / sum : w[x];
            double f = v * double(1 << kPrecisionBits);
            k[x] = v < 0 ? int32_t(-0.5 + f) : int32_t(0.5 + f);
        }
        c.start[xx] = xmin;
        c.count[xx] = n;
    }
    return c;
}

inline uint8_t clip8(int32_t acc) {
    acc >>= kPrecisionBits;
    return acc <= 0 ? 0 : acc >= 255 ? 255 : uint8_t(acc);
}

RgbImage horizontal_pass(const RgbImage& in, int out_w) {
    Coeffs c = make_coeffs(in.width, out_w);
    RgbImage out{out_w, in.height, std::vector<uint8_t>(size_t(out_w) * in.height * 3)};
    for (int y = 0; y < in.height; ++y) {
        const uint8_t* src = in.pixels.data() + size_t(y) * in.width * 3;
        uint8_t* dst = out.pixels.data() + size_t(y) * out_w * 3;
        for (int xx = 0; xx < out_w; ++xx) {
            const int32_t* k = &c.k[size_t(xx) * c.ksize];
            int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
            const uint8_t* p = src + size_t(c.start[xx]) * 3;
            for (int x = 0; x < c.count[xx]; ++x) {
                s0 += int32_t(p[3 * x]) * k[x];
                s1 += int32_t(p[3 * x + 1]) * k[x];
                s2 += int32_t(p[3 * x + 2]) * k[x];
            }
            dst[3 * xx] = clip8(s0);
            dst[3 * xx + 1] = clip8(s1);
            dst[3 * xx + 2] = clip8(s2);
        }
    }
    return out;
}

RgbImage vertical_pass(const RgbImage& in, int out_h) {
    Coeffs c = make_coeffs(in.height, out_h);
    const size_t row = size_t(in.width) * 3;
    RgbImage out{in.width, out_h, std::vector<uint8_t>(row * out_h)};
    std::vector<int32_t> acc(row);
    for (int yy = 0; yy < out_h; ++yy) {
        std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
        const int32_t* k = &c.k[size_t(yy) * c.ksize];
        for (int y = 0; y < c.count[yy]; ++y) {
            const uint8_t* src = in.pixels.data() + size_t(c.start[yy] + y) * row;
            const int32_t ky = k[y];
            for (size_t i = 0; i < row; ++i) acc[i] += int32_t(src[i]) * ky;
        }
        uint8_t* dst = out.pixels.data() + size_t(yy) * row;
        for (size_t i = 0; i < row; ++i) dst[i] = clip8(acc[i]);
    }
    return out;
}

}  // namespace

RgbImage resize_bicubic_pillow(const RgbImage& in, int out_w, int out_h) {
    if (in.width <= 0 || in.height <= 0 || in.pixels.size() != size_t(in.width) * in.height * 3)
        throw Error("resize_bicubic_pillow: input image is empty or its pixel buffer has the wrong size");
    if (out_w <= 0 || out_h <= 0) throw Error("resize_bicubic_pillow: output size must be positive");
    RgbImage cur = in;
    if (out_w != in.width) cur = horizontal_pass(cur, out_w);
    if (out_h != in.height) cur = vertical_pass(cur, out_h);
    return cur;
}

std::pair<int, int> janus_resize_dims(int w, int h, int image_size, int min_size) {
    double m = std::max(w, h);
    int nh = std::max(int(double(h) / m * image_size), min_size);
    int nw = std::max(int(double(w) / m * image_size), min_size);
    return {nw, nh};
}

RgbImage pad_to_square(const RgbImage& in, int size, uint8_t background) {
    if (in.width > size || in.height > size) throw Error("pad_to_square: image larger than the square");
    RgbImage out{size, size, std::vector<uint8_t>(size_t(size) * size * 3, background)};
    int ox = (size - in.width) / 2, oy = (size - in.height) / 2;
    for (int y = 0; y < in.height; ++y)
        std::copy_n(in.pixels.data() + size_t(y) * in.width * 3, size_t(in.width) * 3,
                    out.pixels.data() + (size_t(y + oy) * size + ox) * 3);
    return out;
}

RgbImage janus_square_image(const RgbImage& in, int image_size) {
    auto [nw, nh] = janus_resize_dims(in.width, in.height, image_size);
    // The reference's min_size can make a side exceed image_size only when image_size < 14.
    nw = std::min(nw, image_size);
    nh = std::min(nh, image_size);
    RgbImage resized = (nw == in.width && nh == in.height) ? in : resize_bicubic_pillow(in, nw, nh);
    return pad_to_square(resized, image_size);
}

void to_pixel_values(const RgbImage& sq, float* out) {
    const size_t plane = size_t(sq.width) * sq.height;
    for (size_t i = 0; i < plane; ++i)
        for (int c = 0; c < 3; ++c) {
            float x = float(double(sq.pixels[3 * i + c]) * (1.0 / 255.0));
            out[c * plane + i] = (x - 0.5f) / 0.5f;
        }
}

std::vector<float> preprocess_janus(const RgbImage& in, int image_size) {
    RgbImage sq = janus_square_image(in, image_size);
    std::vector<float> out(size_t(3) * image_size * image_size);
    to_pixel_values(sq, out.data());
    return out;
}

}  // namespace janus::vision
