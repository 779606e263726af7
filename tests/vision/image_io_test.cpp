// Image decoding tests: every format/mode in tests/data/images/decode against the RGB that Pillow
// produced (scripts/reference/make_vision_images.py), and every malformed file in bad/ must give a
// janus::Error naming the file. Tolerances: lossless formats exact; JPEG max |Δ| ≤ 2 (same libjpeg,
// different decoder settings may round IDCT/upsampling differently); CMYK JPEG mean |Δ| ≤ 3 (the CMYK →
// RGB formula differs between Pillow and OpenCV; only the colours must agree); RGBA TIFF ±1 against
// the premultiplied colours OpenCV's libtiff path returns (documented difference).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "janus/error.h"
#include "janus/vision.h"
#include "vision/image_io.h"

using namespace janus;

static std::string img_path(const std::string& rel) { return std::string(JANUS_TEST_DATA) + "/images/" + rel; }

struct DecodeCase {
    const char* name;
    int max_abs;        // -1: use the mean tolerance
    double mean_abs;
};

class Decode : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(Decode, MatchesPillow) {
    const DecodeCase& c = GetParam();
    RgbImage got = read_image(img_path(std::string("decode/") + c.name));
    RgbImage want = read_image(img_path(std::string("decode/") + c.name + ".expected.png"));
    ASSERT_EQ(got.width, want.width);
    ASSERT_EQ(got.height, want.height);
    int worst = 0;
    double sum = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) {
        int d = std::abs(int(got.pixels[i]) - int(want.pixels[i]));
        worst = std::max(worst, d);
        sum += d;
    }
    double mean = sum / got.pixels.size();
    if (c.max_abs >= 0) {
        EXPECT_LE(worst, c.max_abs) << c.name;
    }
    EXPECT_LE(mean, c.mean_abs) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Formats, Decode,
    ::testing::Values(DecodeCase{"rgb8.png", 0, 0}, DecodeCase{"rgba8.png", 0, 0}, DecodeCase{"gray8.png", 0, 0},
                      DecodeCase{"graya8.png", 0, 0}, DecodeCase{"palette.png", 0, 0},
                      DecodeCase{"gray16.png", 0, 0}, DecodeCase{"rgb16.png", 0, 0}, DecodeCase{"rgb.bmp", 0, 0},
                      DecodeCase{"rgb.webp", 0, 0}, DecodeCase{"rgb.tiff", 0, 0}, DecodeCase{"rgba.tiff", 1, 0.5},
                      DecodeCase{"rgb.jpg", 2, 0.5}, DecodeCase{"gray.jpg", 2, 0.5},
                      DecodeCase{"exif3.jpg", 2, 0.5}, DecodeCase{"exif6.jpg", 2, 0.5},
                      DecodeCase{"cmyk.jpg", -1, 3.0}),
    [](const auto& info) {
        std::string s = info.param.name;
        for (char& ch : s)
            if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
        return s;
    });

TEST(Decode, ExifOrientationCanBeIgnored) {
    ImageReadOptions o;
    o.apply_exif_orientation = false;
    RgbImage raw = read_image(img_path("decode/exif6.jpg"), o);
    RgbImage rot = read_image(img_path("decode/exif6.jpg"));
    EXPECT_EQ(raw.width, 37);
    EXPECT_EQ(raw.height, 23);
    EXPECT_EQ(rot.width, 23);  // 90° rotation swaps the sides
    EXPECT_EQ(rot.height, 37);
}

// Every malformed file must throw janus::Error whose message names the file and says something useful.
struct BadCase {
    const char* name;
    const char* must_mention;
};
class Bad : public ::testing::TestWithParam<BadCase> {};

TEST_P(Bad, ClearError) {
    std::string p = img_path(std::string("bad/") + GetParam().name);
    try {
        read_image(p);
        FAIL() << "no error for " << p;
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find(p), std::string::npos) << m;
        EXPECT_NE(m.find(GetParam().must_mention), std::string::npos) << m;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Files, Bad,
    ::testing::Values(BadCase{"truncated.png", "truncated"}, BadCase{"truncated.jpg", "truncated"},
                      BadCase{"truncated.webp", "decode"}, BadCase{"truncated.bmp", "decode"},
                      BadCase{"header_only.png", "truncated"}, BadCase{"empty.png", "empty"},
                      BadCase{"garbage.png", "IHDR"}, BadCase{"unsupported.gif", "not supported"},
                      BadCase{"text.jpg", "unsupported"}, BadCase{"corrupt_idat.png", "decode"},
                      BadCase{"zero.png", "1x1"}, BadCase{"huge.png", "limit"}, BadCase{"huge.jpg", "limit"},
                      BadCase{"does_not_exist.png", "cannot open"}),
    [](const auto& info) {
        std::string s = info.param.name;
        for (char& ch : s)
            if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
        return s;
    });

TEST(Limits, PixelLimitPerCallAndEnv) {
    ImageReadOptions o;
    o.max_pixels = 37 * 23 - 1;  // one pixel short of rgb8.png
    EXPECT_THROW(read_image(img_path("decode/rgb8.png"), o), Error);
    o.max_pixels = 37 * 23;
    EXPECT_NO_THROW(read_image(img_path("decode/rgb8.png"), o));
    setenv("JANUS_MAX_IMAGE_PIXELS", "100", 1);
    EXPECT_THROW(read_image(img_path("decode/rgb8.png")), Error);
    setenv("JANUS_MAX_IMAGE_PIXELS", "bogus", 1);
    EXPECT_THROW(read_image(img_path("decode/rgb8.png")), Error);
    unsetenv("JANUS_MAX_IMAGE_PIXELS");
    EXPECT_EQ(vision::max_image_pixels(), vision::kDefaultMaxImagePixels);
}

TEST(Probe, ReadsDimsWithoutDecoding) {
    for (auto [f, w, h] : {std::tuple{"rgb8.png", 37, 23}, {"rgb.jpg", 37, 23}, {"rgb.bmp", 37, 23},
                           {"rgb.webp", 37, 23}, {"rgb.tiff", 37, 23}}) {
        std::string p = img_path(std::string("decode/") + f);
        FILE* fp = fopen(p.c_str(), "rb");
        ASSERT_TRUE(fp);
        std::vector<uint8_t> b(1 << 16);
        b.resize(fread(b.data(), 1, b.size(), fp));
        fclose(fp);
        auto hd = vision::probe_image(b.data(), b.size(), p);
        EXPECT_EQ(hd.width, w) << f;
        EXPECT_EQ(hd.height, h) << f;
    }
}
