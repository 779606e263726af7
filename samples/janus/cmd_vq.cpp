// `janus vq`: inspect the VQ-16 image tokenizer of a Janus checkpoint.
//   janus vq -m MODEL --encode IMAGE [-o CODES.npy]        image → 24×24 codes (printed as a grid)
//   janus vq -m MODEL --decode CODES.npy -o OUT.png         codes → image
//   janus vq -m MODEL --roundtrip IMAGE OUT.png             image → codes → image
// --dump DIR writes vq_pixel_values / vq_latent / vq_codes (encode) and vq_decoded [1,3,S,S] /
// vq_image_uint8 [S,S,3] (decode). Logic: pipelines/vq_tokenizer.cpp, vision/vq_model.cpp.
#include <cstdio>

#include "command.h"
#include "janus/default_model.h"
#include "janus/error.h"
#include "janus/vision.h"

namespace {

struct Options {
    std::string model, encode, decode, output, dump;
    std::vector<std::string> roundtrip;
};

void print_grid(const std::vector<int32_t>& codes, int g) {
    for (int y = 0; y < g; ++y) {
        for (int x = 0; x < g; ++x) std::printf("%s%5d", x ? " " : "", codes[size_t(y) * g + x]);
        std::printf("\n");
    }
}

std::vector<int32_t> read_codes(const std::string& path) {
    janus::Npy a = janus::read_npy(path);
    if (a.descr[1] == 'f') throw janus::file_error(path, "codes must be an integer array, got dtype " + a.descr);
    std::vector<int64_t> v = a.to_i64();
    return std::vector<int32_t>(v.begin(), v.end());
}

int run(const Options& o) {
    int modes = !o.encode.empty() + !o.decode.empty() + !o.roundtrip.empty();
    if (modes != 1) throw janus::Error("give exactly one of --encode IMAGE, --decode CODES.npy, --roundtrip IMAGE OUT.png");
    auto vq = janus::VqTokenizer::open(janus::resolve_model_dir(o.model), janus_cli::global_options().device);
    const int g = vq->grid_size();
    if (!o.encode.empty()) {
        std::vector<int32_t> codes = vq->encode(janus::read_image(o.encode), o.dump);
        if (!o.output.empty()) {
            std::vector<int64_t> c64(codes.begin(), codes.end());
            janus::write_npy_i64(o.output, c64.data(), {int64_t(codes.size())});
        }
        print_grid(codes, g);
        return 0;
    }
    if (!o.decode.empty()) {
        if (o.output.empty()) throw janus::Error("--decode needs -o OUT.png");
        janus::RgbImage img = vq->decode(read_codes(o.decode), o.dump);
        janus::write_png(o.output, img, {{"Software", "janus vq --decode"}, {"Source", o.decode}});
        std::fprintf(stderr, "janus: wrote %s (%dx%d)\n", o.output.c_str(), img.width, img.height);
        return 0;
    }
    if (o.roundtrip.size() != 2) throw janus::Error("--roundtrip needs IMAGE OUT.png");
    std::vector<int32_t> codes = vq->encode(janus::read_image(o.roundtrip[0]), o.dump);
    janus::RgbImage img = vq->decode(codes, o.dump);
    janus::write_png(o.roundtrip[1], img, {{"Software", "janus vq --roundtrip"}, {"Source", o.roundtrip[0]}});
    std::fprintf(stderr, "janus: %s → %d codes → %s\n", o.roundtrip[0].c_str(), g * g, o.roundtrip[1].c_str());
    return 0;
}

const bool registered = janus_cli::register_command(
    "vq", "Encode images to VQ-16 codes and decode codes to images (inspect the image tokenizer)", [](CLI::App& app) {
        auto opt = std::make_shared<Options>();
        app.add_option("-m,--model", opt->model, "Janus checkpoint directory (default: janus-shapes)");
        app.add_option("--encode", opt->encode, "Image to encode into codes");
        app.add_option("--decode", opt->decode, "Codes .npy (integer, G×G values) to decode");
        app.add_option("--roundtrip", opt->roundtrip, "IMAGE OUT.png: encode then decode")->expected(2);
        app.add_option("-o,--output", opt->output, "Output: PNG for --decode, codes .npy for --encode");
        app.add_option("--dump", opt->dump, "Write intermediate tensors as .npy into this directory");
        return [opt] { return run(*opt); };
    });

}  // namespace
