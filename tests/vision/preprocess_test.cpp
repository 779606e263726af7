// Janus preprocessing tests. Resize+pad: every pixel of our 384×384 square within ±1 of the one Pillow
// built (Image.resize BICUBIC + centred paste, tests/data/images/resize/*.pil384.png from
// scripts/reference/make_vision_images.py) — the port is expected to be exact, ±1 is the contract.
// Pixel values: against float64 (u/255 − 0.5)/0.5 within 1e-6 absolute.
#include <gtest/gtest.h>

#include <cmath>

#include "janus/vision.h"
#include "vision/preprocess.h"

using namespace janus;

static std::string rpath(const std::string& rel) { return std::string(JANUS_TEST_DATA) + "/images/resize/" + rel; }

class PillowResize : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(PillowResize, SquareWithinOneOfPillow) {
    auto [w, h] = GetParam();
    std::string base = "src_" + std::to_string(w) + "x" + std::to_string(h);
    RgbImage src = read_image(rpath(base + ".png"));
    RgbImage want = read_image(rpath(base + ".pil384.png"));
    RgbImage got = vision::janus_square_image(src);
    ASSERT_EQ(got.width, 384);
    ASSERT_EQ(got.height, 384);
    int worst = 0;
    size_t off_by_one = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) {
        int d = std::abs(int(got.pixels[i]) - int(want.pixels[i]));
        worst = std::max(worst, d);
        off_by_one += d != 0;
    }
    EXPECT_LE(worst, 1) << base;
    RecordProperty("pixels_differing", int(off_by_one));
}

INSTANTIATE_TEST_SUITE_P(Sizes, PillowResize,
                         ::testing::Values(std::pair{512, 320}, std::pair{451, 300}, std::pair{97, 61},
                                           std::pair{384, 200}, std::pair{20, 700}, std::pair{1023, 17}));

TEST(Preprocess, ResizeDims) {
    // facts §4.1 step 2: truncation, min size 14.
    EXPECT_EQ(vision::janus_resize_dims(512, 320), (std::pair{384, 240}));
    EXPECT_EQ(vision::janus_resize_dims(451, 300), (std::pair{384, 255}));  // 300/451*384 = 255.4
    EXPECT_EQ(vision::janus_resize_dims(1023, 17), (std::pair{384, 14}));   // 6.38 → min 14
    EXPECT_EQ(vision::janus_resize_dims(20, 700), (std::pair{14, 384}));    // 10.97 → 14
}

TEST(Preprocess, PixelValuesAgainstFloat64) {
    RgbImage sq{384, 384, std::vector<uint8_t>(384 * 384 * 3)};
    for (size_t i = 0; i < sq.pixels.size(); ++i) sq.pixels[i] = uint8_t((i * 7919) % 256);
    std::vector<float> v(3 * 384 * 384);
    vision::to_pixel_values(sq, v.data());
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 384 * 384; ++i) {
            double want = (sq.pixels[size_t(i) * 3 + c] / 255.0 - 0.5) / 0.5;
            ASSERT_NEAR(v[size_t(c) * 384 * 384 + i], want, 1e-6);
        }
    EXPECT_FLOAT_EQ(v[0], -1.0f);  // pixel 0 is 0 → −1
}

TEST(Preprocess, PadIsCentredGray) {
    RgbImage img{10, 4, std::vector<uint8_t>(10 * 4 * 3, 200)};
    RgbImage sq = vision::pad_to_square(img, 10);
    EXPECT_EQ(sq.pixels[0], 127);                         // row 0 is padding (offset (10-4)/2 = 3)
    EXPECT_EQ(sq.pixels[(3 * 10) * 3], 200);              // row 3 starts the image
    EXPECT_EQ(sq.pixels[(7 * 10) * 3], 127);              // row 7 is padding again
}
