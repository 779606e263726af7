// .npy round trips (compared with what numpy's format spec requires: magic, 64-byte aligned header,
// C order) and PNG text chunks (tEXt for ASCII, iTXt for UTF-8) read back through libpng; pixels of
// a written PNG read back exactly through the image decoder.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "janus/error.h"
#include "janus/vision.h"

using namespace janus;

static std::string tmp(const std::string& name) {
    auto d = std::filesystem::temp_directory_path() / ("janus_vision_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return (d / name).string();
}

TEST(Npy, RoundTripTypes) {
    std::vector<float> f = {1.5f, -2.25f, 3e-8f, 0.f, 7.f, 8.f};
    write_npy_f32(tmp("f.npy"), f.data(), {2, 3});
    Npy a = read_npy(tmp("f.npy"));
    EXPECT_EQ(a.descr, "<f4");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a.to_f32(), f);
    std::vector<int32_t> i = {5, -1, 100000};
    write_npy_i32(tmp("i.npy"), i.data(), {3});
    Npy b = read_npy(tmp("i.npy"));
    EXPECT_EQ(b.shape, (std::vector<int64_t>{3}));
    EXPECT_EQ(b.to_i64(), (std::vector<int64_t>{5, -1, 100000}));
    std::vector<int64_t> l = {1, 2};
    write_npy_i64(tmp("l.npy"), l.data(), {1, 2});
    EXPECT_EQ(read_npy(tmp("l.npy")).to_i64(), l);
    // Header is padded so the data starts at a multiple of 64 bytes.
    std::ifstream s(tmp("f.npy"), std::ios::binary | std::ios::ate);
    EXPECT_EQ((size_t(s.tellg()) - 6 * 4) % 64, 0u);
}

TEST(Npy, RejectsBadFiles) {
    std::ofstream(tmp("bad.npy")) << "hello";
    EXPECT_THROW(read_npy(tmp("bad.npy")), Error);
    EXPECT_THROW(read_npy(tmp("missing.npy")), Error);
    std::vector<float> f(4);
    write_npy_f32(tmp("t.npy"), f.data(), {4});
    std::filesystem::resize_file(tmp("t.npy"), std::filesystem::file_size(tmp("t.npy")) - 3);
    EXPECT_THROW(read_npy(tmp("t.npy")), Error);
}

TEST(Png, TextChunksAndPixelsRoundTrip) {
    RgbImage img{5, 3, {}};
    for (int i = 0; i < 45; ++i) img.pixels.push_back(uint8_t(i * 5));
    TextChunks text = {{"prompt", "a red fox, watercolour"}, {"seed", "42"}, {"Comment", "caf\xc3\xa9 \xe2\x98\x95"}};
    write_png(tmp("t.png"), img, text);
    EXPECT_EQ(read_png_text(tmp("t.png")), text);
    RgbImage back = read_image(tmp("t.png"));
    EXPECT_EQ(back.width, 5);
    EXPECT_EQ(back.pixels, img.pixels);
    EXPECT_THROW(write_png(tmp("k.png"), img, {{"", "x"}}), Error);
    EXPECT_THROW(write_png("/nonexistent_dir/x.png", img), Error);
}
