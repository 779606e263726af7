// janus::VqTokenizer (include/janus/vision.h): the VQ-16 model of a Janus checkpoint behind the
// public API, for `janus vq` — image → codes [G·G] and codes → image, with optional .npy dumps.
// Lives in pipelines/ because it opens a checkpoint (model bundle); the model itself is vision/vq_model.
#include <filesystem>

#include "janus/vision.h"
#include "pipelines/model_bundle.h"
#include "vision/preprocess.h"
#include "vision/vq_model.h"

namespace janus {

namespace {

class VqTokenizerImpl final : public VqTokenizer {
public:
    VqTokenizerImpl(const std::string& model, const std::string& device) {
        BundleOptions bo;
        bo.load_tokenizer = false;
        bundle_ = open_model_bundle(model, bo);
        if (!bundle_.is_janus())
            throw Error(model + ": not a Janus checkpoint (no VQ-16 image tokenizer in a " +
                        std::string(model_family_name(bundle_.family)) + " model)");
        be_ = &get_backend(device);
        vision::WeightSource ws(bundle_.lookup(), *be_, bundle_.dir);
        vision::VqConfig cfg = vision::vq_config_from_json(bundle_.config, bundle_.dir + "/config.json");
        bool enc = ws.has("gen_vision_model.encoder.conv_in.weight");
        vq_.emplace(vision::VqModel::load(ws, cfg, enc));
    }

    int image_size() const override { return vq_->config().image_size; }
    int grid_size() const override { return vq_->config().grid(); }
    int codebook_size() const override { return vq_->config().codebook_size; }

    std::vector<int32_t> encode(const RgbImage& image, const std::string& dump_dir) override {
        if (!vq_->has_encoder())
            throw Error(bundle_.dir + ": the checkpoint has no VQ encoder weights (gen_vision_model.encoder.*)");
        const int S = image_size(), G = grid_size(), D = vq_->config().embed_dim;
        std::vector<float> px = vision::preprocess_janus(image, S);
        std::vector<int32_t> codes = vq_->encode(px.data());
        if (!dump_dir.empty()) {
            std::filesystem::create_directories(dump_dir);
            write_npy_f32(dump_dir + "/vq_pixel_values.npy", px.data(), {1, 3, S, S});
            write_npy_f32(dump_dir + "/vq_latent.npy", vq_->last_latent().data(), {1, D, G, G});
            std::vector<int64_t> c64(codes.begin(), codes.end());
            write_npy_i64(dump_dir + "/vq_codes.npy", c64.data(), {int64_t(G) * G});
        }
        return codes;
    }

    RgbImage decode(const std::vector<int32_t>& codes, const std::string& dump_dir) override {
        const int S = image_size(), G = grid_size();
        if (codes.size() != size_t(G) * G)
            throw Error("VQ decode: got " + std::to_string(codes.size()) + " codes, this model needs " +
                        std::to_string(G * G) + " (a " + std::to_string(G) + "×" + std::to_string(G) + " grid)");
        Tensor out = be_->alloc(DType::f32, {1, 3, S, S});
        vq_->decode(out, codes.data());
        Tensor h = Tensor::empty(DType::f32, {1, 3, S, S});
        be_->copy(h, out);
        be_->synchronize();
        RgbImage img = vision::decoded_to_image(h.ptr<float>(), S);
        if (!dump_dir.empty()) {
            std::filesystem::create_directories(dump_dir);
            write_npy_f32(dump_dir + "/vq_decoded.npy", h.ptr<float>(), {1, 3, S, S});
            write_npy_u8(dump_dir + "/vq_image_uint8.npy", img.pixels.data(), {S, S, 3});
        }
        return img;
    }

private:
    ModelBundle bundle_;
    Backend* be_ = nullptr;
    std::optional<vision::VqModel> vq_;
};

}  // namespace

std::unique_ptr<VqTokenizer> VqTokenizer::open(const std::string& model, const std::string& device) {
    return std::make_unique<VqTokenizerImpl>(model, device);
}

}  // namespace janus
