// Helpers for the janus-shapes tests: the goldens' manifests, a small C++ rasteriser for the five
// shapes (own code, 4×4 supersampled, geometry as documented in samples/models/janus-shapes/MODEL_CARD.md
// and scripts/shapes/shapes_data.py), and an image analyser for generated pictures:
//   background = nearest palette colour to the median border pixel;
//   foreground = largest 4-connected region of pixels far (> kFarFromBg) from that median, its colour the
//                nearest palette colour to the region's median;
//   shape = best IoU of the region's mask, normalised to its bounding box (32 × 32 grid), against the
//           five reference masks normalised the same way; fill = region area / bounding-box area.
// Images are janus::RgbImage, [H, W, 3] uint8.
#pragma once
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "janus/error.h"
#include "janus/vision.h"

namespace shapes_test {

inline const std::vector<std::string> kShapes = {"circle", "square", "triangle", "star", "cross"};
inline const std::vector<std::string> kColors = {"red", "green", "blue", "yellow", "white", "black"};
inline const std::array<std::array<int, 3>, 6> kRgb = {{{235, 20, 20}, {20, 200, 20}, {20, 20, 235},
                                                         {235, 235, 20}, {235, 235, 235}, {20, 20, 20}}};

inline std::string golden_dir() { return std::string(JANUS_TEST_DATA) + "/golden/janus-shapes"; }

inline nlohmann::json manifest(const std::string& name) {
    std::string path = golden_dir() + "/" + name;
    std::ifstream f(path);
    if (!f) throw janus::Error(path + ": cannot open (regenerate with scripts/shapes/make_goldens.py)");
    return nlohmann::json::parse(f);
}

// The model directory a manifest names (relative to the repository root, which is JANUS_TEST_DATA/../..).
inline std::string model_dir(const nlohmann::json& m) {
    return std::string(JANUS_TEST_DATA) + "/../../" + m.at("model").get<std::string>();
}

// ---- rasteriser --------------------------------------------------------------------------------

// Whether (x, y) lies inside `shape` centred at (cx, cy) with bounding-box side d (pixels).
inline bool inside(const std::string& shape, double cx, double cy, double d, double x, double y) {
    const double r = d / 2, dx = x - cx, dy = y - cy;
    if (shape == "circle") return dx * dx + dy * dy <= r * r;
    std::vector<std::pair<double, double>> p;
    if (shape == "square") {
        double s = r * 0.9;
        p = {{-s, -s}, {s, -s}, {s, s}, {-s, s}};
    } else if (shape == "triangle") {
        p = {{0, -r}, {r, r * 0.85}, {-r, r * 0.85}};
    } else if (shape == "star") {
        for (int k = 0; k < 10; ++k) {
            double rad = k % 2 == 0 ? r : r * 0.45, a = -M_PI / 2 + k * M_PI / 5;
            p.push_back({rad * std::cos(a), rad * std::sin(a) + r * 0.1});
        }
    } else if (shape == "cross") {
        double w = r / 3;
        p = {{-w, -r}, {w, -r}, {w, -w}, {r, -w}, {r, w}, {w, w}, {w, r}, {-w, r}, {-w, w}, {-r, w}, {-r, -w}, {-w, -w}};
    } else {
        throw janus::Error("shapes_util: unknown shape '" + shape + "'");
    }
    bool in = false;  // even-odd rule
    for (size_t i = 0, j = p.size() - 1; i < p.size(); j = i++) {
        auto [xi, yi] = p[i];
        auto [xj, yj] = p[j];
        if ((yi > dy) != (yj > dy) && dx < (xj - xi) * (dy - yi) / (yj - yi) + xi) in = !in;
    }
    return in;
}

inline janus::RgbImage draw(const std::string& shape, std::array<int, 3> fg, std::array<int, 3> bg, double cx,
                            double cy, double d, int size) {
    janus::RgbImage im;
    im.width = im.height = size;
    im.pixels.resize(size_t(size) * size * 3);
    constexpr int ss = 4;
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            int hits = 0;
            for (int sy = 0; sy < ss; ++sy)
                for (int sx = 0; sx < ss; ++sx)
                    hits += inside(shape, cx, cy, d, x + (sx + 0.5) / ss, y + (sy + 0.5) / ss);
            double a = hits / double(ss * ss);
            for (int c = 0; c < 3; ++c)
                im.pixels[(size_t(y) * size + x) * 3 + c] = uint8_t(std::lround(a * fg[c] + (1 - a) * bg[c]));
        }
    return im;
}

// ---- analyser ----------------------------------------------------------------------------------

struct Analysis {
    std::string bg, fg, shape;  // "" when no foreground region was found
    double fill = 0, iou = 0;
    std::string str() const {
        std::ostringstream s;
        s << "bg=" << bg << " fg=" << (fg.empty() ? "-" : fg) << " shape=" << (shape.empty() ? "-" : shape)
          << " fill=" << fill << " iou=" << iou;
        return s.str();
    }
};

inline int nearest_color(const double rgb[3]) {
    int best = 0;
    double bd = 1e30;
    for (int k = 0; k < 6; ++k) {
        double d = 0;
        for (int c = 0; c < 3; ++c) d += (rgb[c] - kRgb[k][c]) * (rgb[c] - kRgb[k][c]);
        if (d < bd) bd = d, best = k;
    }
    return best;
}

inline double median(std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
}

constexpr double kFarFromBg = 100.0;  // palette colours are >= 215 apart (Euclidean RGB)
constexpr int kGrid = 32;

// Mask of `shape` normalised to its own bounding box on a kGrid² grid.
inline std::vector<uint8_t> reference_mask(const std::string& shape) {
    // Bounding box measured by sampling (d = 1, centre 0).
    double x0 = 1, x1 = -1, y0 = 1, y1 = -1;
    for (int i = 0; i <= 400; ++i)
        for (int j = 0; j <= 400; ++j) {
            double x = -0.6 + 1.2 * i / 400, y = -0.6 + 1.2 * j / 400;
            if (inside(shape, 0, 0, 1, x, y)) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
        }
    std::vector<uint8_t> m(kGrid * kGrid);
    for (int v = 0; v < kGrid; ++v)
        for (int u = 0; u < kGrid; ++u)
            m[v * kGrid + u] = inside(shape, 0, 0, 1, x0 + (x1 - x0) * (u + 0.5) / kGrid, y0 + (y1 - y0) * (v + 0.5) / kGrid);
    return m;
}

inline Analysis analyse(const janus::RgbImage& im) {
    const int W = im.width, H = im.height;
    auto px = [&](int x, int y, int c) { return double(im.pixels[(size_t(y) * W + x) * 3 + c]); };
    double bgm[3];
    for (int c = 0; c < 3; ++c) {
        std::vector<double> v;
        for (int x = 0; x < W; ++x) v.push_back(px(x, 0, c)), v.push_back(px(x, H - 1, c));
        for (int y = 1; y + 1 < H; ++y) v.push_back(px(0, y, c)), v.push_back(px(W - 1, y, c));
        bgm[c] = median(v);
    }
    Analysis a;
    a.bg = kColors[nearest_color(bgm)];
    std::vector<uint8_t> far(size_t(W) * H);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            double d = 0;
            for (int c = 0; c < 3; ++c) d += (px(x, y, c) - bgm[c]) * (px(x, y, c) - bgm[c]);
            far[size_t(y) * W + x] = std::sqrt(d) > kFarFromBg;
        }
    // Largest 4-connected region of far pixels.
    std::vector<int> label(far.size(), -1), best;
    for (size_t s = 0; s < far.size(); ++s) {
        if (!far[s] || label[s] >= 0) continue;
        std::vector<int> comp = {int(s)};
        label[s] = int(s);
        for (size_t i = 0; i < comp.size(); ++i) {
            int x = comp[i] % W, y = comp[i] / W;
            const int nx[4] = {x - 1, x + 1, x, x}, ny[4] = {y, y, y - 1, y + 1};
            for (int k = 0; k < 4; ++k) {
                if (nx[k] < 0 || ny[k] < 0 || nx[k] >= W || ny[k] >= H) continue;
                int q = ny[k] * W + nx[k];
                if (far[q] && label[q] < 0) label[q] = int(s), comp.push_back(q);
            }
        }
        if (comp.size() > best.size()) best.swap(comp);
    }
    if (best.size() < size_t(W * H) / 100) return a;  // no foreground worth the name
    double fgm[3];
    for (int c = 0; c < 3; ++c) {
        std::vector<double> v;
        for (int q : best) v.push_back(im.pixels[size_t(q) * 3 + c]);
        fgm[c] = median(v);
    }
    a.fg = kColors[nearest_color(fgm)];
    int x0 = W, x1 = -1, y0 = H, y1 = -1;
    std::vector<uint8_t> mask(far.size());
    for (int q : best) {
        mask[q] = 1;
        x0 = std::min(x0, q % W), x1 = std::max(x1, q % W), y0 = std::min(y0, q / W), y1 = std::max(y1, q / W);
    }
    a.fill = double(best.size()) / double((x1 - x0 + 1) * (y1 - y0 + 1));
    std::vector<uint8_t> g(kGrid * kGrid);
    for (int v = 0; v < kGrid; ++v)
        for (int u = 0; u < kGrid; ++u) {
            int x = x0 + int((x1 - x0 + 1) * (u + 0.5) / kGrid), y = y0 + int((y1 - y0 + 1) * (v + 0.5) / kGrid);
            g[v * kGrid + u] = mask[size_t(y) * W + x];
        }
    static const std::vector<std::vector<uint8_t>> refs = [] {
        std::vector<std::vector<uint8_t>> r;
        for (const auto& s : kShapes) r.push_back(reference_mask(s));
        return r;
    }();
    for (size_t k = 0; k < kShapes.size(); ++k) {
        int inter = 0, uni = 0;
        for (size_t i = 0; i < g.size(); ++i) inter += g[i] && refs[k][i], uni += g[i] || refs[k][i];
        double iou = uni ? double(inter) / uni : 0;
        if (iou > a.iou) a.iou = iou, a.shape = kShapes[k];
    }
    return a;
}

// ---- captions ----------------------------------------------------------------------------------

struct CaptionWords {
    std::string color, shape, bg;  // the word right before the shape, the shape, the word before "background"
};

inline CaptionWords parse_caption(const std::string& text) {
    std::vector<std::string> w;
    std::string cur;
    for (char ch : text + " ") {
        if (std::isalpha(static_cast<unsigned char>(ch))) cur += char(std::tolower(static_cast<unsigned char>(ch)));
        else if (!cur.empty()) w.push_back(cur), cur.clear();
    }
    CaptionWords c;
    for (size_t i = 0; i < w.size(); ++i) {
        if (c.shape.empty() && std::find(kShapes.begin(), kShapes.end(), w[i]) != kShapes.end()) {
            c.shape = w[i];
            if (i > 0) c.color = w[i - 1];
        }
        if (w[i] == "background" && i > 0 && c.bg.empty()) c.bg = w[i - 1];
    }
    return c;
}

// Deterministic generator (splitmix64) so the drawn test pictures are the same on every platform.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform(double a, double b) { return a + (b - a) * double(next() >> 11) / double(1ull << 53); }
    int below(int n) { return int(next() % uint64_t(n)); }
};

}  // namespace shapes_test
