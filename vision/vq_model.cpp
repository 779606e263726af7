// VQ-16 encoder / decoder / quantiser (see vq_model.h for the computation and shapes).
#include "vision/vq_model.h"

#include <cmath>

#include "janus/error.h"
#include "vision/random_weights.h"

namespace janus::vision {

namespace {

const std::string kVq = "gen_vision_model.";

int in_channels_of_level(const VqConfig& c, bool decoder, int i) {
    int L = int(c.decoder_ch_mult.size());
    if (decoder) return c.ch * (i == 0 ? c.decoder_ch_mult[L - 1] : c.decoder_ch_mult[L - i]);
    return c.ch * (i == 0 ? 1 : c.encoder_ch_mult[i - 1]);
}
int out_channels_of_level(const VqConfig& c, bool decoder, int i) {
    int L = int(c.decoder_ch_mult.size());
    return c.ch * (decoder ? c.decoder_ch_mult[L - 1 - i] : c.encoder_ch_mult[i]);
}
int top_channels(const VqConfig& c, bool decoder) {
    return c.ch * (decoder ? c.decoder_ch_mult.back() : c.encoder_ch_mult.back());
}

}  // namespace

// ---- loading -------------------------------------------------------------------------------------

VqModel::Stack VqModel::load_stack(const WeightSource& ws, const std::string& prefix, const VqConfig& cfg,
                                   bool decoder) {
    auto conv = [&](const std::string& n, int64_t cout, int64_t cin, int k) {
        Conv c;
        c.w = ws.require(n + ".weight", {cout, cin, k, k});
        c.b = ws.require(n + ".bias", {cout});
        c.k = k;
        return c;
    };
    auto norm = [&](const std::string& n, int64_t c) { return Norm{ws.require(n + ".weight", {c}), ws.require(n + ".bias", {c})}; };
    auto res = [&](const std::string& n, int cin, int cout) {
        Res r;
        r.cin = cin, r.cout = cout;
        r.n1 = norm(n + ".norm1", cin);
        r.c1 = conv(n + ".conv1", cout, cin, 3);
        r.n2 = norm(n + ".norm2", cout);
        r.c2 = conv(n + ".conv2", cout, cout, 3);
        if (cin != cout) r.nin = conv(n + ".nin_shortcut", cout, cin, 1);
        return r;
    };
    auto attn = [&](const std::string& n, int c) {
        Attn a;
        a.c = c;
        a.n = norm(n + ".norm", c);
        auto lin = [&](const char* part, Tensor* w, Tensor* b) {
            *w = ws.require(n + "." + part + ".weight", {c, c, 1, 1}).reshape({c, c});
            *b = ws.require(n + "." + part + ".bias", {c});
        };
        lin("q", &a.wq, &a.bq);
        lin("k", &a.wk, &a.bk);
        lin("v", &a.wv, &a.bv);
        lin("proj_out", &a.wo, &a.bo);
        return a;
    };
    Stack s;
    const int L = int(cfg.decoder_ch_mult.size());
    const int top = top_channels(cfg, decoder);
    const int nrb = decoder ? cfg.num_res_blocks + 1 : cfg.num_res_blocks;
    if (decoder) s.conv_in = conv(prefix + "conv_in", top, cfg.z_channels, 3);
    else s.conv_in = conv(prefix + "conv_in", cfg.ch, 3, 3);
    for (int i = 0; i < L; ++i) {
        Level lv;
        std::string b = prefix + "conv_blocks." + std::to_string(i) + ".";
        int cin = in_channels_of_level(cfg, decoder, i), cout = out_channels_of_level(cfg, decoder, i);
        for (int j = 0; j < nrb; ++j) {
            lv.res.push_back(res(b + "res." + std::to_string(j), j == 0 ? cin : cout, cout));
            std::string an = b + "attn." + std::to_string(j);
            if (ws.has(an + ".norm.weight")) lv.attn.push_back(attn(an, cout));
        }
        if (!lv.attn.empty() && lv.attn.size() != lv.res.size())
            throw Error(ws.source() + ": " + b + "attn has " + std::to_string(lv.attn.size()) + " blocks but res has " +
                        std::to_string(lv.res.size()));
        lv.resample = i != L - 1;
        if (lv.resample) lv.rs = conv(b + (decoder ? "upsample.conv" : "downsample.conv"), cout, cout, 3);
        s.levels.push_back(std::move(lv));
    }
    s.mid0 = res(prefix + "mid.0", top, top);
    s.mid1 = attn(prefix + "mid.1", top);
    s.mid2 = res(prefix + "mid.2", top, top);
    int last = decoder ? cfg.ch * cfg.decoder_ch_mult[0] : top;
    s.norm_out = norm(prefix + "norm_out", last);
    s.conv_out = conv(prefix + "conv_out", decoder ? 3 : cfg.z_channels, last, 3);
    return s;
}

VqModel VqModel::load(const WeightSource& ws, const VqConfig& cfg, bool with_encoder) {
    VqModel m;
    m.be_ = &ws.backend();
    m.cfg_ = cfg;
    m.transposer_ = std::make_shared<Transposer>(*m.be_);
    m.attn_ = std::make_shared<GemmAttention>(*m.be_);
    m.dec_ = load_stack(ws, kVq + "decoder.", cfg, true);
    m.post_quant_conv_ = {ws.require(kVq + "post_quant_conv.weight", {cfg.z_channels, cfg.embed_dim, 1, 1}),
                          ws.require(kVq + "post_quant_conv.bias", {cfg.z_channels}), 1};
    if (with_encoder) {
        m.enc_ = load_stack(ws, kVq + "encoder.", cfg, false);
        m.quant_conv_ = {ws.require(kVq + "quant_conv.weight", {cfg.embed_dim, cfg.z_channels, 1, 1}),
                         ws.require(kVq + "quant_conv.bias", {cfg.embed_dim}), 1};
        m.has_encoder_ = true;
    }
    // L2-normalise the codebook once, in f32 (facts §6.4: x / max(‖x‖₂, 1e−12)).
    Tensor cb = ws.raw(kVq + "quantize.embedding.weight");
    if (!cb.defined()) cb = ws.raw(hf_name(kVq + "quantize.embedding.weight"));
    if (!cb.defined() || !(cb.shape() == Shape{cfg.codebook_size, cfg.embed_dim}))
        throw Error(ws.source() + ": gen_vision_model.quantize.embedding.weight missing or not [" +
                    std::to_string(cfg.codebook_size) + ", " + std::to_string(cfg.embed_dim) + "]");
    m.codebook_ = cb.to_f32_vector();
    for (int i = 0; i < cfg.codebook_size; ++i) {
        float* r = &m.codebook_[size_t(i) * cfg.embed_dim];
        float ss = 0;
        for (int d = 0; d < cfg.embed_dim; ++d) ss += r[d] * r[d];
        float nrm = std::max(std::sqrt(ss), 1e-12f);
        for (int d = 0; d < cfg.embed_dim; ++d) r[d] /= nrm;
    }
    return m;
}

VqModel::Stack VqModel::random_stack(Backend& be, const VqConfig& cfg, bool decoder, uint64_t& seed, DType wdt) {
    auto conv = [&](int cout, int cin, int k) {
        return Conv{random_normal(be, {cout, cin, k, k}, float(1.0 / std::sqrt(double(cin * k * k))), seed++, wdt),
                    constant(be, {cout}, 0.0f), k};
    };
    auto norm = [&](int c) { return Norm{constant(be, {c}, 1.0f), constant(be, {c}, 0.0f)}; };
    auto res = [&](int cin, int cout) {
        Res r;
        r.cin = cin, r.cout = cout, r.n1 = norm(cin), r.c1 = conv(cout, cin, 3), r.n2 = norm(cout);
        r.c2 = conv(cout, cout, 3);
        if (cin != cout) r.nin = conv(cout, cin, 1);
        return r;
    };
    auto attn = [&](int c) {
        Attn a;
        a.c = c, a.n = norm(c);
        float sd = float(1.0 / std::sqrt(double(c)));
        a.wq = random_normal(be, {c, c}, sd, seed++, wdt), a.wk = random_normal(be, {c, c}, sd, seed++, wdt);
        a.wv = random_normal(be, {c, c}, sd, seed++, wdt), a.wo = random_normal(be, {c, c}, sd, seed++, wdt);
        a.bq = a.bk = a.bv = a.bo = constant(be, {c}, 0.0f);
        return a;
    };
    Stack s;
    const int L = int(cfg.decoder_ch_mult.size()), top = top_channels(cfg, decoder);
    const int nrb = decoder ? cfg.num_res_blocks + 1 : cfg.num_res_blocks;
    s.conv_in = decoder ? conv(top, cfg.z_channels, 3) : conv(cfg.ch, 3, 3);
    for (int i = 0; i < L; ++i) {
        Level lv;
        int cin = in_channels_of_level(cfg, decoder, i), cout = out_channels_of_level(cfg, decoder, i);
        for (int j = 0; j < nrb; ++j) {
            lv.res.push_back(res(j == 0 ? cin : cout, cout));
            if ((decoder && i == 0) || (!decoder && i == L - 1)) lv.attn.push_back(attn(cout));
        }
        lv.resample = i != L - 1;
        if (lv.resample) lv.rs = conv(cout, cout, 3);
        s.levels.push_back(std::move(lv));
    }
    s.mid0 = res(top, top), s.mid1 = attn(top), s.mid2 = res(top, top);
    int last = decoder ? cfg.ch * cfg.decoder_ch_mult[0] : top;
    s.norm_out = norm(last);
    s.conv_out = conv(decoder ? 3 : cfg.z_channels, last, 3);
    return s;
}

VqModel VqModel::random(Backend& be, const VqConfig& cfg, uint64_t seed, bool with_encoder, DType wdt) {
    VqModel m;
    m.be_ = &be;
    m.cfg_ = cfg;
    m.transposer_ = std::make_shared<Transposer>(be);
    m.attn_ = std::make_shared<GemmAttention>(be);
    m.dec_ = random_stack(be, cfg, true, seed, wdt);
    m.post_quant_conv_ = {random_normal(be, {cfg.z_channels, cfg.embed_dim, 1, 1}, 0.3f, seed++),
                          constant(be, {cfg.z_channels}, 0.0f), 1};
    if (with_encoder) {
        m.enc_ = random_stack(be, cfg, false, seed, wdt);
        m.quant_conv_ = {random_normal(be, {cfg.embed_dim, cfg.z_channels, 1, 1}, 0.06f, seed++),
                         constant(be, {cfg.embed_dim}, 0.0f), 1};
        m.has_encoder_ = true;
    }
    Tensor cb = random_normal(cpu_backend(), {cfg.codebook_size, cfg.embed_dim}, 1.0f, seed++);
    m.codebook_ = cb.to_f32_vector();
    for (int i = 0; i < cfg.codebook_size; ++i) {
        float* r = &m.codebook_[size_t(i) * cfg.embed_dim];
        float ss = 0;
        for (int d = 0; d < cfg.embed_dim; ++d) ss += r[d] * r[d];
        for (int d = 0; d < cfg.embed_dim; ++d) r[d] /= std::max(std::sqrt(ss), 1e-12f);
    }
    return m;
}

// ---- workspace -----------------------------------------------------------------------------------

void VqModel::ensure_workspace() {
    if (!bufs_.empty()) return;
    // Largest activation over both stacks (channels × side², including resampled outputs).
    int64_t mx = 0;
    auto track = [&](int64_t c, int64_t side) { mx = std::max(mx, c * side * side); };
    const int L = int(cfg_.decoder_ch_mult.size());
    int64_t r = cfg_.grid(), c = top_channels(cfg_, true);
    track(std::max<int64_t>(c, cfg_.z_channels), r);
    for (int i = 0; i < L; ++i) {
        int64_t co = out_channels_of_level(cfg_, true, i);
        track(std::max(c, co), r);
        c = co;
        if (i != L - 1) track(c, r *= 2);
    }
    r = cfg_.image_size, c = cfg_.ch;
    track(std::max<int64_t>(c, 3), r);
    for (int i = 0; i < L; ++i) {
        int64_t co = out_channels_of_level(cfg_, false, i);
        track(std::max(c, co), r);
        c = co;
        if (i != L - 1) r /= 2;
    }
    max_numel_ = mx;
    for (int i = 0; i < 3; ++i) bufs_.push_back(be_->alloc(DType::f32, {mx}));
}

Tensor VqModel::buf(int i, const Shape& shape) {
    if (shape.numel() > max_numel_) throw Error("VqModel: internal workspace too small for " + shape.str());
    const Tensor& b = bufs_[size_t(i)];
    return Tensor(b.data(), DType::f32, shape, b.device(), b.owner());
}

// ---- blocks --------------------------------------------------------------------------------------

void VqModel::run_res(const Res& r, int64_t side) {
    Backend& be = *be_;
    const int A = cur_, B = (cur_ + 1) % 3, C = (cur_ + 2) % 3;
    Tensor x = buf(A, {1, r.cin, side, side});
    Tensor t = buf(B, {1, r.cin, side, side});
    be.group_norm(t, x, r.n1.w, r.n1.b, cfg_.groups, cfg_.eps, true);
    Tensor h = buf(C, {1, r.cout, side, side});
    be.conv2d(h, t, r.c1.w, r.c1.b, Conv2dParams::same(1));
    Tensor t2 = buf(B, {1, r.cout, side, side});
    be.group_norm(t2, h, r.n2.w, r.n2.b, cfg_.groups, cfg_.eps, true);
    be.conv2d(h, t2, r.c2.w, r.c2.b, Conv2dParams::same(1));  // h's old value was consumed by GN2
    if (r.cin != r.cout) {
        Tensor s = buf(B, {1, r.cout, side, side});
        be.conv2d(s, x, r.nin.w, r.nin.b, Conv2dParams::same(0));
        be.add(h, h, s);
    } else {
        be.add(h, h, x);
    }
    cur_ = C;
}

void VqModel::run_attn(const Attn& a, int64_t side) {
    Backend& be = *be_;
    const int64_t C = a.c, T = side * side;
    const int A = cur_, B = (cur_ + 1) % 3;
    if (!q_.defined() || !(q_.shape() == Shape{T, C})) {
        q_ = be.alloc(DType::f32, {T, C}), k_ = be.alloc(DType::f32, {T, C}), v_ = be.alloc(DType::f32, {T, C});
        o_ = be.alloc(DType::f32, {T, C}), t_ = be.alloc(DType::f32, {T, C});
    }
    Tensor x = buf(A, {1, C, side, side});
    Tensor n = buf(B, {1, C, side, side});
    be.group_norm(n, x, a.n.w, a.n.b, cfg_.groups, cfg_.eps, false);
    transposer_->transpose(t_, n.reshape({C, T}));  // [T, C] token-major
    be.matmul(q_, t_, a.wq, a.bq);
    be.matmul(k_, t_, a.wk, a.bk);
    be.matmul(v_, t_, a.wv, a.bv);
    attn_->forward(o_.reshape({T, 1, C}), q_.reshape({T, 1, C}), k_.reshape({T, 1, C}), v_.reshape({T, 1, C}),
                   float(1.0 / std::sqrt(double(C))));
    be.matmul(t_, o_, a.wo, a.bo);
    Tensor back = buf(B, {C, T});
    transposer_->transpose(back, t_);
    be.add(x, x, back.reshape({1, C, side, side}));
}

void VqModel::run_level_stack(const Stack& s, bool decoder, int64_t side) {
    Backend& be = *be_;
    auto mid = [&] {
        run_res(s.mid0, side);
        run_attn(s.mid1, side);
        run_res(s.mid2, side);
    };
    if (decoder) mid();
    for (const Level& lv : s.levels) {
        for (size_t j = 0; j < lv.res.size(); ++j) {
            run_res(lv.res[j], side);
            if (!lv.attn.empty()) run_attn(lv.attn[j], side);
        }
        if (!lv.resample) continue;
        const int64_t c = lv.res.back().cout;
        const int A = cur_, B = (cur_ + 1) % 3, C = (cur_ + 2) % 3;
        Tensor x = buf(A, {1, c, side, side});
        if (decoder) {
            Tensor u = buf(B, {1, c, 2 * side, 2 * side});
            be.upsample_nearest2x(u, x);
            side *= 2;
            be.conv2d(buf(C, {1, c, side, side}), u, lv.rs.w, lv.rs.b, Conv2dParams::same(1));
            cur_ = C;
        } else {
            Conv2dParams p;
            p.stride = 2, p.pad_bottom = 1, p.pad_right = 1;  // F.pad(x, (0, 1, 0, 1)) then stride-2 conv
            side /= 2;
            be.conv2d(buf(B, {1, c, side, side}), x, lv.rs.w, lv.rs.b, p);
            cur_ = B;
        }
    }
    if (!decoder) mid();
}

// ---- decode / encode -----------------------------------------------------------------------------

void VqModel::decode(const Tensor& out, const int32_t* codes) {
    Backend& be = *be_;
    ensure_workspace();
    const int64_t G = cfg_.grid(), D = cfg_.embed_dim, S = cfg_.image_size;
    if (!(out.shape() == Shape{1, 3, S, S}) || out.dtype() != DType::f32)
        throw Error("VQ decode: output must be f32 [1, 3, " + std::to_string(S) + ", " + std::to_string(S) + "]");
    // Codebook lookup + raster [G·G, D] → channel-major [D, G, G], on the host (tiny).
    Tensor z = Tensor::empty(DType::f32, {1, D, G, G});
    for (int64_t p = 0; p < G * G; ++p) {
        int32_t c = codes[p];
        if (c < 0 || c >= cfg_.codebook_size)
            throw Error("VQ decode: code " + std::to_string(c) + " at position " + std::to_string(p) +
                        " is outside the codebook [0, " + std::to_string(cfg_.codebook_size) + ")");
        for (int64_t d = 0; d < D; ++d) z.ptr<float>()[d * G * G + p] = codebook_[size_t(c) * D + d];
    }
    cur_ = 0;
    Tensor h = buf(0, {1, cfg_.z_channels, G, G});
    be.conv2d(h, be.upload(z), post_quant_conv_.w, post_quant_conv_.b, Conv2dParams::same(0));
    const int64_t top = top_channels(cfg_, true);
    be.conv2d(buf(1, {1, top, G, G}), h, dec_.conv_in.w, dec_.conv_in.b, Conv2dParams::same(1));
    cur_ = 1;
    run_level_stack(dec_, true, G);
    const int64_t last = cfg_.ch * cfg_.decoder_ch_mult[0];
    Tensor x = buf(cur_, {1, last, S, S});
    Tensor t = buf((cur_ + 1) % 3, {1, last, S, S});
    be.group_norm(t, x, dec_.norm_out.w, dec_.norm_out.b, cfg_.groups, cfg_.eps, true);
    be.conv2d(out, t, dec_.conv_out.w, dec_.conv_out.b, Conv2dParams::same(1));
}

std::vector<int32_t> VqModel::encode(const float* pixels) {
    if (!has_encoder_) throw Error("VQ encode: this model was loaded without its encoder");
    Backend& be = *be_;
    ensure_workspace();
    const int64_t S = cfg_.image_size, G = cfg_.grid(), D = cfg_.embed_dim, top = top_channels(cfg_, false);
    Tensor host = Tensor::empty(DType::f32, {1, 3, S, S});
    std::copy(pixels, pixels + 3 * S * S, host.ptr<float>());
    Tensor x = buf(0, {1, 3, S, S});
    be.copy(x, host);
    be.conv2d(buf(1, {1, cfg_.ch, S, S}), x, enc_.conv_in.w, enc_.conv_in.b, Conv2dParams::same(1));
    cur_ = 1;
    run_level_stack(enc_, false, S);
    Tensor h = buf(cur_, {1, top, G, G});
    Tensor t = buf((cur_ + 1) % 3, {1, top, G, G});
    be.group_norm(t, h, enc_.norm_out.w, enc_.norm_out.b, cfg_.groups, cfg_.eps, true);
    Tensor zc = buf((cur_ + 2) % 3, {1, cfg_.z_channels, G, G});
    be.conv2d(zc, t, enc_.conv_out.w, enc_.conv_out.b, Conv2dParams::same(1));
    Tensor zq = buf(cur_, {1, D, G, G});
    be.conv2d(zq, zc, quant_conv_.w, quant_conv_.b, Conv2dParams::same(0));
    Tensor zh = Tensor::empty(DType::f32, {1, D, G, G});
    be.copy(zh, zq);
    be.synchronize();
    latent_.assign(zh.ptr<float>(), zh.ptr<float>() + D * G * G);

    // Nearest normalised codebook row to the normalised latent (facts §1.5), in double:
    // argmin_j ‖z‖² + ‖e_j‖² − 2 z·e_j; the lowest index wins ties (torch.argmin).
    std::vector<int32_t> codes(static_cast<size_t>(G * G));
    std::vector<double> e2(static_cast<size_t>(cfg_.codebook_size));
    for (int j = 0; j < cfg_.codebook_size; ++j) {
        double s = 0;
        for (int64_t d = 0; d < D; ++d) s += double(codebook_[size_t(j) * D + d]) * codebook_[size_t(j) * D + d];
        e2[size_t(j)] = s;
    }
    std::vector<double> z(static_cast<size_t>(D));
    for (int64_t p = 0; p < G * G; ++p) {
        double ss = 0;
        for (int64_t d = 0; d < D; ++d) ss += double(latent_[size_t(d * G * G + p)]) * latent_[size_t(d * G * G + p)];
        double nrm = std::max(std::sqrt(ss), 1e-12);
        for (int64_t d = 0; d < D; ++d) z[size_t(d)] = latent_[size_t(d * G * G + p)] / nrm;
        double z2 = 0;
        for (double v : z) z2 += v * v;
        double best = INFINITY;
        int32_t arg = 0;
        for (int j = 0; j < cfg_.codebook_size; ++j) {
            const float* e = &codebook_[size_t(j) * D];
            double dot = 0;
            for (int64_t d = 0; d < D; ++d) dot += z[size_t(d)] * e[d];
            double dist = z2 + e2[size_t(j)] - 2 * dot;
            if (dist < best) best = dist, arg = j;
        }
        codes[size_t(p)] = arg;
    }
    return codes;
}

RgbImage decoded_to_image(const float* chw, int size) {
    RgbImage img{size, size, std::vector<uint8_t>(size_t(size) * size * 3)};
    const size_t plane = size_t(size) * size;
    for (size_t i = 0; i < plane; ++i)
        for (int c = 0; c < 3; ++c) {
            float v = (chw[c * plane + i] + 1.0f) / 2.0f * 255.0f;
            v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;  // NaN → 0 below
            img.pixels[3 * i + c] = v >= 0.0f ? uint8_t(v) : 0;
        }
    return img;
}

// ---- FLOP counts ---------------------------------------------------------------------------------

double VqModel::stack_flops(const Stack& s, bool decoder) const {
    auto conv = [](double cin, double cout, double k, double side) { return 2 * cin * cout * k * k * side * side; };
    auto res = [&](const Res& r, double side) {
        return conv(r.cin, r.cout, 3, side) + conv(r.cout, r.cout, 3, side) + (r.cin != r.cout ? conv(r.cin, r.cout, 1, side) : 0);
    };
    auto attn = [&](const Attn& a, double side) {
        double T = side * side;
        return 4 * 2 * T * a.c * a.c + 2 * 2 * T * T * a.c;
    };
    double f = 0, side = decoder ? cfg_.grid() : cfg_.image_size;
    auto mid = [&] { f += res(s.mid0, side) + attn(s.mid1, side) + res(s.mid2, side); };
    f += decoder ? conv(cfg_.z_channels, top_channels(cfg_, true), 3, side) : conv(3, cfg_.ch, 3, side);
    if (decoder) mid();
    for (const Level& lv : s.levels) {
        for (size_t j = 0; j < lv.res.size(); ++j) {
            f += res(lv.res[j], side);
            if (!lv.attn.empty()) f += attn(lv.attn[j], side);
        }
        if (lv.resample) {
            side = decoder ? side * 2 : side / 2;
            f += conv(lv.res.back().cout, lv.res.back().cout, 3, side);
        }
    }
    if (!decoder) mid();
    double last = decoder ? cfg_.ch * cfg_.decoder_ch_mult[0] : top_channels(cfg_, false);
    f += conv(last, decoder ? 3 : cfg_.z_channels, 3, side);
    return f;
}

double VqModel::decode_flops() const {
    double G = cfg_.grid();
    return 2.0 * cfg_.embed_dim * cfg_.z_channels * G * G + stack_flops(dec_, true);
}

double VqModel::encode_flops() const {
    double G = cfg_.grid();
    return stack_flops(enc_, false) + 2.0 * cfg_.z_channels * cfg_.embed_dim * G * G;
}

}  // namespace janus::vision
