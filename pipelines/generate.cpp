// janus::ImageGenerator (include/janus/generate.h): opens a Janus checkpoint (LM, gen_embed,
// gen_aligner, gen_head, VQ-16 decoder), builds the prompt rows (facts §5.1, §5.2), plans memory,
// and drives GenEngine (generate_engine.h) either to completion for one request (with passes when
// the KV cache must be split, VQ decode one image at a time, optional .npy dumps) or step by step
// for several requests at once (server, `janus batch`).
//
// Dumps (request.dump_dir): gen_input_ids [2P, L] i64 (rows interleaved cond/uncond; with a negative
// prompt of another length gen_input_ids_cond [L_c] and gen_input_ids_uncond [L_u]),
// gen_head_logits_step0_rows [2P, V] f32, cfg_logits [K, P, V] f32, codes [P, K] i32 and, after a full
// run, images_uint8 [P, S, S, 3] u8.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include "janus/chat_format.h"
#include "janus/generate.h"
#include "janus/janus.h"
#include "janus/tokenizer.h"
#include "pipelines/generate_engine.h"
#include "pipelines/generate_internal.h"
#include "pipelines/model_bundle.h"
#include "vision/vision_config.h"

namespace janus {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr const char* kPadToken = "<｜▁pad▁｜>";  // facts §3.1: U+FF5C bars, U+2581

}  // namespace

uint64_t image_seed(uint64_t seed, int k) {
    if (k == 0) return seed;
    // splitmix64 of (seed, k): distinct, well mixed streams for every image index
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t(k) + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ImageRequest::validate() const {
    auto has_text = [](const std::string& s) { return s.find_first_not_of(" \t\r\n") != std::string::npos; };
    if (!has_text(prompt)) throw Error("prompt: empty; give the image description to generate");
    if (negative_prompt && !has_text(*negative_prompt))
        throw Error("negative_prompt: empty; leave it out to use the reference's pad-token unconditional rows");
    if (n < 1 || n > 4096) throw Error("n (--parallel): must be between 1 and 4096, got " + std::to_string(n));
    if (!std::isfinite(cfg)) throw Error("cfg: must be a finite number");
    if (!std::isfinite(temperature) || temperature < 0)
        throw Error("temperature: must be >= 0 (0 = greedy), got " + std::to_string(temperature));
    if (top_k < 0) throw Error("top_k: must be >= 0 (0 = off), got " + std::to_string(top_k));
    if (!(top_p > 0 && top_p <= 1)) throw Error("top_p: must be in (0, 1] (1 = off), got " + std::to_string(top_p));
    if (steps < 0) throw Error("steps: must be >= 0 (0 = all image tokens), got " + std::to_string(steps));
    for (int k : only_images)
        if (k < 0 || k >= n) throw Error("image index " + std::to_string(k) + " is outside 0.." + std::to_string(n - 1));
}

vision::VqConfig load_gen_parts(GenParts& parts, const ModelBundle& bundle) {
    if (!parts.be || !parts.lm) throw Error("load_gen_parts: set parts.be and parts.lm first");
    vision::WeightSource ws(bundle.lookup(), *parts.be, bundle.dir);
    parts.heads = GenHeads::load(ws, bundle.lm.hidden);
    vision::VqConfig vq_cfg = vision::vq_config_from_json(bundle.config, bundle.dir + "/config.json");
    if (parts.heads.codebook() != vq_cfg.codebook_size)
        throw Error(bundle.dir + ": gen_head produces " + std::to_string(parts.heads.codebook()) +
                    " logits but the VQ codebook has " + std::to_string(vq_cfg.codebook_size) + " entries");
    parts.vq.emplace(vision::VqModel::load(ws, vq_cfg, /*with_encoder=*/false));
    parts.image_tokens = vq_cfg.grid() * vq_cfg.grid();
    return vq_cfg;
}

GenPrompts::GenPrompts(const Tokenizer& tok, int image_tokens)
    : tok_(&tok), format_(ChatFormat::by_name("janus")), image_tokens_(image_tokens) {
    // The pad id by its string (facts §3.3, §7.11): a missing pad token once silently disabled CFG.
    if (auto p = tok.token_to_id(kPadToken)) pad_ = *p;
    else if (!tok.pad_token().empty() && tok.token_to_id(tok.pad_token())) pad_ = *tok.token_to_id(tok.pad_token());
    else
        throw Error(tok.source() + ": the tokenizer has no pad token \"<｜▁pad▁｜>\"; classifier-free guidance needs it "
                    "for the unconditional rows (use the checkpoint's own tokenizer.json)");
    tok.require_id("<begin_of_image>");
    if (auto b = tok.bos_id()) bos_ = *b;
}

std::vector<int32_t> GenPrompts::ids(const std::string& prompt) const {
    std::vector<int32_t> v = tok_->encode(format_.janus_generation_prompt(prompt), /*add_special=*/true);
    if (bos_ >= 0 && (v.empty() || v[0] != bos_)) v.insert(v.begin(), bos_);  // BOS first
    return v;
}

std::shared_ptr<GenRequestState> GenPrompts::request(const ImageRequest& r, int handle) const {
    r.validate();
    auto rq = std::make_shared<GenRequestState>();
    rq->handle = handle;
    rq->req = r;
    rq->ids_c = ids(r.prompt);
    if (r.negative_prompt) {
        rq->ids_u = ids(*r.negative_prompt);
    } else {
        rq->ids_u = rq->ids_c;
        for (size_t i = 1; i + 1 < rq->ids_u.size(); ++i) rq->ids_u[i] = pad_;  // keep BOS and BOI (facts §5.2)
    }
    // --steps K stops early (no decode); K > N is allowed for debugging long KV caches (no decode either)
    rq->steps = r.steps > 0 ? r.steps : image_tokens_;
    rq->sampling.temperature = r.greedy ? 0.0f : r.temperature;
    rq->sampling.top_k = r.top_k;
    rq->sampling.top_p = r.top_p;
    rq->sampling.seed = r.seed;
    rq->record = !r.dump_dir.empty();
    return rq;
}

GeneratedImage finish_gen_image(GenParts& parts, int image_size, GenImageState& im, bool decode) {
    GeneratedImage g;
    g.request = im.rq->handle;
    g.index = im.index;
    g.seed = im.seed;
    g.codes = im.codes;
    g.generate_seconds = std::chrono::duration<double>(im.done - im.admitted).count();
    if (decode && int(im.codes.size()) == parts.image_tokens && parts.vq) {
        auto t0 = Clock::now();
        const int S = image_size;
        Backend& be = *parts.be;
        Tensor out = be.alloc(DType::f32, {1, 3, S, S});
        parts.vq->decode(out, im.codes.data());
        Tensor h = Tensor::empty(DType::f32, {1, 3, S, S});
        be.copy(h, out);
        be.synchronize();
        g.image = vision::decoded_to_image(h.ptr<float>(), S);
        g.decode_seconds = since(t0);
    }
    return g;
}

struct ImageGenerator::Impl {
    ImageGenOptions opt;
    ModelBundle bundle;
    GenParts parts;
    int32_t pad = -1, bos = -1;
    std::optional<GenPrompts> prompts;
    vision::VqConfig vq_cfg;
    int64_t weight_bytes = 0;
    std::unique_ptr<GenEngine> engine;   // step-wise API
    std::map<int, std::shared_ptr<GenRequestState>> requests;
    int next_handle = 1;

    std::shared_ptr<GenRequestState> make_request(const ImageRequest& r, int handle) const;
    PlanInputs plan_inputs(const ImageRequest& r) const;
    GeneratedImage finish(GenImageState& im, bool decode);
};

ImageGenerator::ImageGenerator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ImageGenerator::~ImageGenerator() = default;

std::unique_ptr<ImageGenerator> ImageGenerator::open(const ImageGenOptions& options) {
    auto im = std::make_unique<Impl>();
    im->opt = options;
    if (options.max_images < 1) throw Error("max_images: must be >= 1");
    if (options.max_prompt_tokens < 2) throw Error("max_prompt_tokens: must be >= 2");
    if (options.threads > 0) set_cpu_threads(options.threads);
    BundleOptions bo;
    bo.require_tokenizer = true;
    im->bundle = open_model_bundle(options.model, bo);
    if (!im->bundle.is_janus())
        throw Error(options.model + ": this is a " + std::string(model_family_name(im->bundle.family)) +
                    " text model; image generation needs a Janus / Janus-Pro checkpoint");
    Backend& be = get_backend(options.device);
    im->parts.be = &be;
    LmRunOptions ro;
    ro.dtype = compute_dtype_from_name(options.dtype);
    ro.rope_exact = options.rope_exact;
    im->parts.lm = build_language_model(im->bundle, be, ro);
    im->vq_cfg = load_gen_parts(im->parts, im->bundle);
    const Tokenizer& tok = *im->bundle.tokenizer;
    im->prompts.emplace(tok, im->parts.image_tokens);
    im->pad = im->prompts->pad();
    im->bos = im->prompts->bos();

    // bytes generation reads: LM, gen parts, VQ decoder (+ codebook, post_quant_conv)
    im->weight_bytes = int64_t(im->parts.lm->weights().bytes()) + im->parts.heads.bytes();
    for (const auto& e : im->bundle.checkpoint->entries()) {
        const std::string& n = e.name;
        if (n.find("vision_model.decoder.") != std::string::npos || n.find("vqmodel.decoder.") != std::string::npos ||
            n.find("post_quant_conv.") != std::string::npos || n.find("quantize.embedding.") != std::string::npos)
            im->weight_bytes += int64_t(e.nbytes);
    }
    return std::unique_ptr<ImageGenerator>(new ImageGenerator(std::move(im)));
}

int ImageGenerator::image_size() const { return impl_->vq_cfg.image_size; }
int ImageGenerator::image_tokens() const { return impl_->parts.image_tokens; }
int ImageGenerator::codebook_size() const { return int(impl_->parts.heads.codebook()); }
int32_t ImageGenerator::pad_id() const { return impl_->pad; }

std::string ImageGenerator::model_name() const {
    std::filesystem::path p(impl_->bundle.dir);
    std::string n = p.filename().string();
    if (n.empty()) n = p.parent_path().filename().string();
    return n;
}

std::string ImageGenerator::description() const {
    return impl_->bundle.dir + ": " + impl_->bundle.lm.summary() + "; " + std::to_string(image_tokens()) +
           " image tokens → " + std::to_string(image_size()) + " px, codebook " + std::to_string(codebook_size()) +
           "; LM compute " + (impl_->parts.bf16() ? "bf16" : "f32") + ", VQ f32; " + impl_->parts.be->name();
}

std::vector<int32_t> ImageGenerator::prompt_ids(const std::string& prompt) const {
    return impl_->prompts->ids(prompt);
}

std::vector<int32_t> ImageGenerator::uncond_ids(const ImageRequest& r) const {
    if (r.negative_prompt) return prompt_ids(*r.negative_prompt);
    std::vector<int32_t> u = prompt_ids(r.prompt);
    for (size_t i = 1; i + 1 < u.size(); ++i) u[i] = impl_->pad;  // keep BOS and the trailing BOI (facts §5.2)
    return u;
}

std::shared_ptr<GenRequestState> ImageGenerator::Impl::make_request(const ImageRequest& r, int handle) const {
    return prompts->request(r, handle);
}

PlanInputs ImageGenerator::Impl::plan_inputs(const ImageRequest& r) const {
    PlanInputs in;
    in.model = bundle.dir;
    in.lm = bundle.lm;
    in.vq = vq_cfg;
    in.weight_bytes = weight_bytes;
    in.kv_dtype_bytes = int64_t(dtype_size(parts.lm->default_kv_dtype()));
    in.codebook = parts.heads.codebook();
    in.images = r.only_images.empty() ? r.n : int(r.only_images.size());
    in.limit_bytes = opt.memory_limit;
    return in;
}

MemoryPlan ImageGenerator::plan(const ImageRequest& r) const {
    auto rq = impl_->make_request(r, 0);
    PlanInputs in = impl_->plan_inputs(r);
    in.prompt_tokens = int64_t(std::max(rq->ids_c.size(), rq->ids_u.size()));
    in.image_tokens = rq->steps;
    return make_memory_plan(in);
}

GeneratedImage ImageGenerator::Impl::finish(GenImageState& im, bool decode) {
    return finish_gen_image(parts, vq_cfg.image_size, im, decode);
}

GenerateResult ImageGenerator::generate(const ImageRequest& request,
                                        const std::function<void(const GenerateProgress&)>& on_progress) {
    Impl& m = *impl_;
    auto rq = m.make_request(request, 0);
    MemoryPlan pl = plan(request);
    if (pl.total_bytes > pl.limit_bytes && pl.images_per_step <= 1)
        throw Error("not enough memory for even one image: " + pl.to_text() +
                    "free memory, use a smaller model, or set a higher --memory-limit");
    const int64_t L = int64_t(std::max(rq->ids_c.size(), rq->ids_u.size()));
    GenEngine engine(m.parts, pl.images_per_step, L + rq->steps);
    engine.add(rq);

    GenerateResult res;
    res.prompt_tokens = int64_t(rq->ids_c.size());
    res.uncond_tokens = int64_t(rq->ids_u.size());
    res.steps = rq->steps;
    res.passes = pl.passes;
    const int total = pl.passes * rq->steps;
    int done_steps = 0, pass = 0;
    int64_t tokens = 0;
    std::vector<GenImageState> all;
    while (!engine.idle()) {
        StepReport s = engine.step();
        if (s.prefill_rows > 0 && pass == 0) res.prefill_seconds += s.seconds;
        if (s.prefill_rows > 0) pass++;
        res.generate_seconds += s.seconds;
        done_steps++;
        tokens += s.images;
        if (on_progress) {
            GenerateProgress p;
            p.step = (done_steps - 1) % rq->steps + 1;
            p.total = rq->steps;
            p.pass = std::max(pass, 1);
            p.passes = pl.passes;
            const double el = res.generate_seconds;  // LLM steps only (VQ decodes are not tokens)
            p.tokens_per_second = el > 0 ? double(tokens) / el : 0;
            p.eta_seconds = el / done_steps * double(total - done_steps);
            on_progress(p);
        }
        for (auto& im : engine.take_finished()) {
            if (!m.parts.vq || int(im.codes.size()) < m.parts.image_tokens || !request.dump_dir.empty()) {
                all.push_back(std::move(im));
                continue;
            }
            GeneratedImage g = m.finish(im, true);  // decode now: one image's activations at a time
            res.decode_seconds += g.decode_seconds;
            res.images.push_back(std::move(g));
            all.push_back(std::move(im));
        }
    }
    std::sort(all.begin(), all.end(), [](const GenImageState& a, const GenImageState& b) { return a.index < b.index; });
    if (!request.dump_dir.empty()) {  // decode after the run so the dump holds everything in order
        for (auto& im : all) {
            GeneratedImage g = m.finish(im, true);
            res.decode_seconds += g.decode_seconds;
            res.images.push_back(std::move(g));
        }
    } else {
        for (auto& im : all)
            if (std::none_of(res.images.begin(), res.images.end(), [&](const GeneratedImage& g) { return g.index == im.index; }))
                res.images.push_back(m.finish(im, false));
    }
    std::sort(res.images.begin(), res.images.end(), [](const GeneratedImage& a, const GeneratedImage& b) { return a.index < b.index; });

    if (!request.dump_dir.empty()) {
        namespace fs = std::filesystem;
        fs::create_directories(request.dump_dir);
        auto path = [&](const char* n) { return (fs::path(request.dump_dir) / n).string(); };
        const int64_t P = int64_t(all.size()), K = rq->steps, V = m.parts.heads.codebook();
        if (rq->ids_c.size() == rq->ids_u.size()) {
            std::vector<int64_t> rows;
            for (int64_t i = 0; i < P; ++i) {
                rows.insert(rows.end(), rq->ids_c.begin(), rq->ids_c.end());
                rows.insert(rows.end(), rq->ids_u.begin(), rq->ids_u.end());
            }
            write_npy_i64(path("gen_input_ids.npy"), rows.data(), {2 * P, int64_t(rq->ids_c.size())});
        } else {
            std::vector<int64_t> c(rq->ids_c.begin(), rq->ids_c.end()), u(rq->ids_u.begin(), rq->ids_u.end());
            write_npy_i64(path("gen_input_ids_cond.npy"), c.data(), {int64_t(c.size())});
            write_npy_i64(path("gen_input_ids_uncond.npy"), u.data(), {int64_t(u.size())});
        }
        std::vector<float> step0, cfg(size_t(K * P * V));
        std::vector<int32_t> codes;
        for (int64_t i = 0; i < P; ++i) {
            const auto& im = all[size_t(i)];
            step0.insert(step0.end(), im.step0_rows.begin(), im.step0_rows.end());
            codes.insert(codes.end(), im.codes.begin(), im.codes.end());
            for (int64_t k = 0; k < K; ++k)
                std::copy_n(im.cfg_logits.begin() + k * V, V, cfg.begin() + (k * P + i) * V);
        }
        write_npy_f32(path("gen_head_logits_step0_rows.npy"), step0.data(), {2 * P, V});
        write_npy_f32(path("cfg_logits.npy"), cfg.data(), {K, P, V});
        write_npy_i32(path("codes.npy"), codes.data(), {P, K});
        if (!res.images.empty() && !res.images[0].image.pixels.empty()) {
            const int64_t S = image_size();
            std::vector<uint8_t> px;
            for (const auto& g : res.images) px.insert(px.end(), g.image.pixels.begin(), g.image.pixels.end());
            write_npy_u8(path("images_uint8.npy"), px.data(), {P, S, S, 3});
        }
    }
    return res;
}

// ---- step-wise API ---------------------------------------------------------------------------------

void ImageGenerator::configure(int max_images, int max_prompt_tokens) {
    if (impl_->engine) throw Error("ImageGenerator::configure: call it before the first submit()");
    if (max_images < 1) throw Error("max_images: must be >= 1");
    if (max_prompt_tokens < 2) throw Error("max_prompt_tokens: must be >= 2");
    impl_->opt.max_images = max_images;
    impl_->opt.max_prompt_tokens = max_prompt_tokens;
}

int ImageGenerator::submit(const ImageRequest& request) {
    Impl& m = *impl_;
    if (!m.engine) {
        // KV sized from the options, the images in flight further capped by the memory plan
        ImageRequest probe;
        probe.prompt = "x";
        probe.n = m.opt.max_images;
        PlanInputs in = m.plan_inputs(probe);
        in.prompt_tokens = m.opt.max_prompt_tokens;
        in.image_tokens = m.parts.image_tokens;
        MemoryPlan pl = make_memory_plan(in);
        m.engine = std::make_unique<GenEngine>(m.parts, pl.images_per_step, m.opt.max_prompt_tokens + m.parts.image_tokens);
    }
    ImageRequest r = request;
    r.dump_dir.clear();
    const int h = m.next_handle++;
    auto rq = m.make_request(r, h);
    if (int64_t(std::max(rq->ids_c.size(), rq->ids_u.size())) > m.opt.max_prompt_tokens)
        throw Error("prompt: " + std::to_string(std::max(rq->ids_c.size(), rq->ids_u.size())) +
                    " tokens, more than the " + std::to_string(m.opt.max_prompt_tokens) +
                    " this generator was opened for (max_prompt_tokens)");
    m.engine->add(rq);
    m.requests[h] = rq;
    return h;
}

void ImageGenerator::cancel(int handle) {
    if (impl_->engine) impl_->engine->cancel(handle);
    impl_->requests.erase(handle);
}

bool ImageGenerator::idle() const { return !impl_->engine || impl_->engine->idle(); }
int ImageGenerator::in_flight() const { return impl_->engine ? impl_->engine->in_flight() : 0; }

StepReport ImageGenerator::step() {
    if (!impl_->engine) return {};
    return impl_->engine->step();
}

std::vector<GeneratedImage> ImageGenerator::take_finished(bool decode) {
    std::vector<GeneratedImage> out;
    if (!impl_->engine) return out;
    for (auto& im : impl_->engine->take_finished()) out.push_back(impl_->finish(im, decode));
    return out;
}

bool ImageGenerator::request_done(int handle) const {
    auto it = impl_->requests.find(handle);
    return it == impl_->requests.end() || it->second->outstanding == 0;
}

RgbImage ImageGenerator::decode(const std::vector<int32_t>& codes) {
    if (int(codes.size()) != image_tokens())
        throw Error("VQ decode: got " + std::to_string(codes.size()) + " codes, this model needs " +
                    std::to_string(image_tokens()));
    GenImageState im;
    im.rq = std::make_shared<GenRequestState>();
    im.codes = codes;
    return impl_->finish(im, true).image;
}

}  // namespace janus
